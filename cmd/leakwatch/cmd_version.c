/*
 * cmd_version.c — `leakwatch version`: the build's version and the library
 * versions it links, so a bug report says exactly what ran.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cmds.h"

#ifndef LW_VERSION
#define LW_VERSION "dev"
#endif

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: leakwatch version\n\nPrints the leakwatch version and "
               "the versions of the libraries it uses.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "leakwatch version: takes no arguments\n");
        return 1;
    }
    printf("leakwatch %s (libcurl %s, jansson %s, zlib %s)\n", LW_VERSION,
           curl_version_info(CURLVERSION_NOW)->version, JANSSON_VERSION,
           zlibVersion());
    return 0;
}
