/*
 * test_lw_htab.c — pkg/lw's hash index: values found by hash and told
 * apart by the caller's compare (colliding hashes included), growth that
 * keeps every value, removal and the tombstones it leaves, and a table
 * whose values come and go forever staying at one size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw/lw_hash.h"
#include "lw/lw_htab.h"

/* The caller's side: keys in its own array, values index + 1. */
typedef struct keys {
    char s[4096][16];
    size_t n;
} keys;

static uint64_t lookup(const lw_htab *t, const keys *k, const char *s,
                       uint64_t h, lw_htab_probe *p)
{
    for (uint64_t v = lw_htab_find(t, h, p); v; v = lw_htab_next(t, p))
        if (!strcmp(k->s[v - 1], s))
            return v;
    return 0;
}

static uint64_t intern(lw_htab *t, keys *k, const char *s, uint64_t h)
{
    lw_htab_probe p;
    uint64_t v = lookup(t, k, s, h, &p);
    if (v)
        return v;
    strcpy(k->s[k->n], s);
    k->n++;
    assert_int_equal(lw_htab_add(t, &p, k->n), 0);
    return k->n;
}

/* A table and the keys behind its values, fresh for each test. */
typedef struct fixture {
    lw_htab t;
    keys k;
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || lw_htab_init(&f->t, 16) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    lw_htab_fini(&f->t);
    free(f);
    return 0;
}

static uint64_t hash_of(const char *s)
{
    return lw_hash_bytes(s, strlen(s), 7);
}

static void test_interns_through_growth(void **state)
{
    fixture *fx = *state;
    lw_htab *t = &fx->t;
    keys *k = &fx->k;
    assert_int_equal(t->mask + 1, 16);
    char s[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(s, sizeof(s), "f%d", i);
        assert_int_equal(intern(t, k, s, hash_of(s)), (uint64_t)i + 1);
    }
    assert_int_equal(t->live, 3000);
    /* Load kept at one half or below: 3000 values need 8192 slots. */
    assert_int_equal(t->mask + 1, 8192);
    for (int i = 2999; i >= 0; i--) {
        snprintf(s, sizeof(s), "f%d", i);
        assert_int_equal(intern(t, k, s, hash_of(s)), (uint64_t)i + 1);
    }
    assert_int_equal(k->n, 3000);
}

static void test_colliding_hashes_stay_apart(void **state)
{
    fixture *fx = *state;
    lw_htab *t = &fx->t;
    keys *k = &fx->k;
    /* Every key under one hash: the compare, not the hash, decides. */
    char s[16];
    for (int i = 0; i < 100; i++) {
        snprintf(s, sizeof(s), "k%d", i);
        assert_int_equal(intern(t, k, s, 42), (uint64_t)i + 1);
    }
    lw_htab_probe p;
    assert_int_equal(lookup(t, k, "k77", 42, &p), 78);
    assert_int_equal(lookup(t, k, "k77", 43, &p), 0);
    assert_int_equal(lookup(t, k, "nope", 42, &p), 0);
}

static void test_remove_leaves_a_passable_tombstone(void **state)
{
    fixture *fx = *state;
    lw_htab *t = &fx->t;
    keys *k = &fx->k;
    intern(t, k, "a", 5);
    intern(t, k, "b", 5);
    intern(t, k, "c", 5);
    lw_htab_probe p;
    assert_int_equal(lookup(t, k, "b", 5, &p), 2);
    lw_htab_remove(t, &p);
    assert_int_equal(t->live, 2);
    assert_int_equal(t->used, 3);
    /* "c" sits past the tombstone and is still found. */
    assert_int_equal(lookup(t, k, "c", 5, &p), 3);
    assert_int_equal(lookup(t, k, "b", 5, &p), 0);
    /* A new value under that hash takes the tombstone's slot. */
    assert_int_equal(lw_htab_add(t, &p, 9), 0);
    assert_int_equal(t->used, 3);
    assert_int_equal(t->live, 3);
    /* Removing what is not there (the probe ended empty) changes nothing. */
    assert_int_equal(lw_htab_find(t, 1234, &p), 0);
    lw_htab_remove(t, &p);
    assert_int_equal(t->live, 3);
}

static void test_churn_keeps_one_size(void **state)
{
    (void)state;
    lw_htab t;
    assert_int_equal(lw_htab_init(&t, 64), 0);
    lw_htab_probe p;
    /* Values that come and go: tombstones fill the table, and each
     * rebuild drops them at the same capacity, since few are live. */
    for (uint64_t i = 1; i <= 100000; i++) {
        uint64_t h = lw_hash_mix(i);
        assert_int_equal(lw_htab_find(&t, h, &p), 0);
        assert_int_equal(lw_htab_add(&t, &p, i), 0);
        if (i > 4) {
            uint64_t old = lw_hash_mix(i - 4);
            assert_int_equal(lw_htab_find(&t, old, &p), i - 4);
            lw_htab_remove(&t, &p);
        }
    }
    assert_int_equal(t.live, 4);
    assert_int_equal(t.mask + 1, 64);
    size_t seen = 0;
    for (size_t i = 0; i <= t.mask; i++)
        seen += lw_htab_slot_live(&t.slots[i]) ? 1 : 0;
    assert_int_equal(seen, 4);
    lw_htab_fini(&t);
}

static void test_reserved_values_refused(void **state)
{
    (void)state;
    lw_htab t;
    assert_int_equal(lw_htab_init(&t, 0), 0);
    lw_htab_probe p;
    lw_htab_find(&t, 1, &p);
    assert_int_equal(lw_htab_add(&t, &p, LW_HTAB_EMPTY), -1);
    assert_int_equal(lw_htab_add(&t, &p, LW_HTAB_GONE), -1);
    assert_int_equal(t.live, 0);
    lw_htab_fini(&t);
    lw_htab_fini(&t); /* twice is safe */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interns_through_growth, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_colliding_hashes_stay_apart, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_remove_leaves_a_passable_tombstone, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_churn_keeps_one_size),
        cmocka_unit_test(test_reserved_values_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
