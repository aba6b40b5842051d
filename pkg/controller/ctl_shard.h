/*
 * ctl_shard.h — which replica of a sharded controller owns a pod.
 *
 * Pods are shared out by workload, not by pod: a pod's key is its
 * namespace and the workload that runs it (a Deployment's pods name a
 * ReplicaSet "<deployment>-<pod-template-hash>", so the hash is cut off;
 * StatefulSets, DaemonSets and Jobs are named directly; a bare pod is its
 * own workload).  Every replica of a workload therefore lands on the same
 * controller replica, which is what peer baselines need: the diff against
 * a fresh peer, the median rate of the group and the fix verification of
 * a rollout all read the whole group from one process's memory.  The
 * price is balance: one workload of a thousand replicas is one shard's.
 *
 * The owner among the live members is chosen by rendezvous (highest
 * random weight) hashing: each member scores the key, the highest wins.
 * When a member leaves only its keys move, spread over the others; when
 * one joins it takes about 1/n of the keys from each.  Every replica
 * computes the same answer from the same member list, with no
 * coordination beyond the Leases.
 *
 * Not for: membership (kube_members.h), or deciding anything about a pod
 * beyond whose it is.
 */
#ifndef CTL_SHARD_H
#define CTL_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* The workload key of a pod: ns, its controller owner's kind and name as
 * the pod names them (empty for a bare pod), the pod's pod-template-hash
 * or controller-revision-hash label, and its own name. */
void ctl_shard_workload_key(const char *ns, const char *owner_kind,
                            const char *owner_name, const char *rev_hash,
                            const char *pod_name, char *out, size_t outlen);

/* The weight of member for key: the same inputs give the same weight in
 * every process and on every platform. */
uint64_t ctl_shard_weight(const char *member, const char *key);

/* The index of key's owner among members[0..n), SIZE_MAX when n is 0.
 * Ties (never in practice) go to the lower index. */
size_t ctl_shard_owner(const char *key, const char (*members)[256], size_t n);

/* A Lease name for a member: prefix + "-member-" + identity made a DNS
 * subdomain (lower case; other characters than [a-z0-9.-] become '-'),
 * cut to 253 characters without a trailing '-' or '.'. */
void ctl_shard_lease_name(const char *prefix, const char *identity, char *out,
                          size_t outlen);

#endif
