/*
 * apue_idle SECONDS
 *
 * The APUE recipe of apue.c, but the daemon idles for SECONDS instead of executing a
 * program: benches/launch.sh reads its resident size next to the Rust example daemons.
 * Including apue.c keeps the two recipes identical by construction.
 */
#define APUE_IDLE 1
#include "apue.c"
