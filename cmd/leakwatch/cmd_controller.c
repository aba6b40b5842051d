/*
 * cmd_controller.c — `leakwatch controller`: parse the settings, build the
 * controller, run it until SIGTERM/SIGINT.
 *
 * The signal handler only sets a flag the control loop polls; everything
 * that shuts down (workers, Events, the lease) happens on the main thread in
 * ctl_controller_run, so nothing is half-written when the process exits.
 */
#include <curl/curl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "controller/controller.h"
#include "controller/ctl_config.h"
#include "obs/obs_log.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int cmd_controller(int argc, char **argv)
{
    ctl_config cfg;
    ctl_config_defaults(&cfg);
    char err[1024];
    int rc = ctl_config_parse(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc == 2) {
        ctl_config_free(&cfg);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "leakwatch controller: %s\n", err);
        ctl_config_free(&cfg);
        return 1;
    }
    obs_level level;
    obs_log_format fmt;
    obs_level_parse(cfg.log_level, &level);
    obs_log_format_parse(cfg.log_format, &fmt);
    obs_logger *log = obs_logger_new(2, level, fmt);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

#ifdef __GLIBC__
    /* glibc gives every thread that allocates an arena of its own (up to
     * 8 per core); the controller runs a capture worker per
     * --max-concurrent-captures plus the watch, lease, Event and HTTP
     * threads, and each arena keeps its own free memory.  The threads
     * contend little (parsing allocates from lw arenas in large blocks),
     * and one arena measured 1.1 MB less RSS than two at 1,000 pods with
     * no more CPU (hack/bench/run.sh controller), so they share one. */
    mallopt(M_ARENA_MAX, 1);
#endif
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ctl_controller *c = ctl_controller_new(&cfg, log, err, sizeof(err));
    int status = 0;
    if (!c) {
        fprintf(stderr, "leakwatch controller: %s\n", err);
        status = 2;
    } else {
        status = ctl_controller_run(c, &stop_requested) == 0 ? 0 : 2;
        ctl_controller_free(c);
    }
    curl_global_cleanup();
    obs_logger_free(log);
    ctl_config_free(&cfg);
    return status;
}
