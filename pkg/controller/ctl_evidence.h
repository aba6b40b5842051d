/*
 * ctl_evidence.h — the bounded directory where suspect and baseline
 * profiles are kept as proof, in files `go tool pprof -diff_base` opens.
 *
 * Writes are atomic (temporary file, fsync, rename), so a SIGTERM or a crash
 * never leaves a half-written profile under a final name; stale temporary
 * files from a previous run are removed at start.  The directory is bounded
 * by total bytes: after each write the oldest files are deleted until it
 * fits, except files written in the last `protect_seconds` (the pair an
 * Event has just named must survive long enough to be read).
 *
 * Not for: choosing what to keep (the controller decides) or shipping
 * evidence anywhere.
 */
#ifndef CTL_EVIDENCE_H
#define CTL_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ctl_evidence ctl_evidence;

/* Creates dir (and parents) when missing.  max_bytes 0 means 256 MiB. */
ctl_evidence *ctl_evidence_new(const char *dir, uint64_t max_bytes,
                               int protect_seconds, char *err, size_t errlen);
void ctl_evidence_free(ctl_evidence *e);

/* Writes data under a file name built from the parts (unsafe characters
 * replaced), e.g. "demo_web-7d9f-x2k_rev7_20261123T040506Z_suspect.pb.gz":
 * the workload revision the pod runs (revision <= 0, unknown: no "_revN")
 * names the code a profile came from, so a baseline of an older revision
 * reads as one in a listing.  The full path goes to path_out.  0 on
 * success. */
int ctl_evidence_write(ctl_evidence *e, const char *ns, const char *pod,
                       long revision, int64_t unix_s, const char *role, const char *ext,
                       const void *data, size_t len, char *path_out,
                       size_t pathlen, char *err, size_t errlen);

/* Current total size in bytes (as of the last scan). */
uint64_t ctl_evidence_bytes(const ctl_evidence *e);
const char *ctl_evidence_dir(const ctl_evidence *e);

#endif
