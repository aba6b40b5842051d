/*
 * test_ctl_shard.c — sharding's pure parts: the workload key a pod is
 * hashed by, rendezvous hashing's balance and its promise that a member
 * leaving moves only that member's keys, and member Lease names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "controller/ctl_shard.h"

static void test_workload_key(void **state)
{
    (void)state;
    char key[400];
    /* A Deployment's pods: the ReplicaSet's name less its template hash,
     * so every revision's pods hash alike. */
    ctl_shard_workload_key("shop", "ReplicaSet", "orders-7d9f8b6c5", "7d9f8b6c5",
                           "orders-7d9f8b6c5-x2x4q", key, sizeof(key));
    assert_string_equal(key, "shop/orders");
    ctl_shard_workload_key("shop", "ReplicaSet", "orders-5c4b3a291", "5c4b3a291",
                           "orders-5c4b3a291-abcde", key, sizeof(key));
    assert_string_equal(key, "shop/orders");
    /* The same key from the workload Event's owner. */
    ctl_shard_workload_key("shop", "Deployment", "orders", "", "", key, sizeof(key));
    assert_string_equal(key, "shop/orders");
    /* A StatefulSet's revision hash is no suffix of its name. */
    ctl_shard_workload_key("db", "StatefulSet", "pg", "pg-6f7c9d", "pg-0", key,
                           sizeof(key));
    assert_string_equal(key, "db/pg");
    /* A ReplicaSet of its own (no template hash) keeps its name; a hash
     * that is the whole name is not cut to nothing. */
    ctl_shard_workload_key("a", "ReplicaSet", "plain", "", "plain-q", key, sizeof(key));
    assert_string_equal(key, "a/plain");
    ctl_shard_workload_key("a", "ReplicaSet", "abc", "abc", "abc-q", key, sizeof(key));
    assert_string_equal(key, "a/abc");
    /* The hash is only cut by a ReplicaSet. */
    ctl_shard_workload_key("a", "Job", "batch-123", "123", "batch-123-z", key, sizeof(key));
    assert_string_equal(key, "a/batch-123");
    /* A bare pod is its own workload. */
    ctl_shard_workload_key("a", "", "", "", "lonely", key, sizeof(key));
    assert_string_equal(key, "a/lonely");
    /* Truncated, never overrun. */
    char small[6];
    ctl_shard_workload_key("shop", "ReplicaSet", "orders-1", "1", "p", small, sizeof(small));
    assert_string_equal(small, "shop/");
}

static void test_owner_is_deterministic_and_order_free(void **state)
{
    (void)state;
    char m[3][256] = {"ctl-a", "ctl-b", "ctl-c"};
    char r[3][256] = {"ctl-c", "ctl-a", "ctl-b"};
    for (int i = 0; i < 200; i++) {
        char key[64];
        snprintf(key, sizeof(key), "ns/w%d", i);
        size_t a = ctl_shard_owner(key, (const char (*)[256])m, 3);
        size_t b = ctl_shard_owner(key, (const char (*)[256])r, 3);
        assert_string_equal(m[a], r[b]);
        assert_int_equal(a, ctl_shard_owner(key, (const char (*)[256])m, 3));
    }
    assert_int_equal(ctl_shard_owner("x", (const char (*)[256])m, 0), SIZE_MAX);
    assert_int_equal(ctl_shard_owner("x", (const char (*)[256])m, 1), 0);
    /* The weight covers both strings whole. */
    assert_true(ctl_shard_weight("ab", "c") != ctl_shard_weight("a", "bc"));
}

static void test_balance_and_minimal_movement(void **state)
{
    (void)state;
    enum { KEYS = 6000, N = 4 };
    char m[N][256] = {"leakwatch-7b9-aaaaa", "leakwatch-7b9-bbbbb",
                      "leakwatch-7b9-ccccc", "leakwatch-7b9-ddddd"};
    static size_t before[KEYS];
    size_t per[N] = {0};
    for (int i = 0; i < KEYS; i++) {
        char key[64];
        snprintf(key, sizeof(key), "team-%d/svc-%d", i % 37, i);
        before[i] = ctl_shard_owner(key, (const char (*)[256])m, N);
        per[before[i]]++;
    }
    /* Each of 4 gets a quarter, within 10% of it. */
    for (int k = 0; k < N; k++)
        assert_true(per[k] > KEYS / N * 9 / 10 && per[k] < KEYS / N * 11 / 10);

    /* The last member leaves: only its keys move, spread over the rest. */
    size_t moved = 0, to[N] = {0};
    for (int i = 0; i < KEYS; i++) {
        char key[64];
        snprintf(key, sizeof(key), "team-%d/svc-%d", i % 37, i);
        size_t now = ctl_shard_owner(key, (const char (*)[256])m, N - 1);
        if (before[i] != N - 1)
            assert_int_equal(now, before[i]);
        else {
            moved++;
            to[now]++;
        }
    }
    assert_int_equal(moved, per[N - 1]);
    for (int k = 0; k < N - 1; k++)
        assert_true(to[k] > moved / 3 * 8 / 10 && to[k] < moved / 3 * 12 / 10);
}

static void test_lease_name(void **state)
{
    (void)state;
    char name[254];
    ctl_shard_lease_name("leakwatch", "leakwatch-6d8f-x7k2p", name, sizeof(name));
    assert_string_equal(name, "leakwatch-member-leakwatch-6d8f-x7k2p");
    /* The default identity, host_pid: made a DNS subdomain. */
    ctl_shard_lease_name("lw", "Node_A.example_1234", name, sizeof(name));
    assert_string_equal(name, "lw-member-node-a.example-1234");
    ctl_shard_lease_name("lw", "a b\xc3\xa9!", name, sizeof(name));
    assert_string_equal(name, "lw-member-a-b");
    /* Cut to 253 without a trailing '-' or '.'. */
    char id[300];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    id[241] = '-';
    ctl_shard_lease_name("lw", id, name, sizeof(name));
    assert_true(strlen(name) <= 253);
    assert_true(name[strlen(name) - 1] != '-');
    char tiny[8];
    ctl_shard_lease_name("lw", "abc", tiny, sizeof(tiny));
    assert_string_equal(tiny, "lw-memb");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_key),
        cmocka_unit_test(test_owner_is_deterministic_and_order_free),
        cmocka_unit_test(test_balance_and_minimal_movement),
        cmocka_unit_test(test_lease_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
