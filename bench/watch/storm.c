/* Workloads for the recorder's overhead benchmark (bench/watch.sh). Prints one line: "<mode> <count> <ns per op>".
 *   storm signals N [RATE]   send N SIGUSR1 to a child that handles them, at RATE a second (0: as fast
 *                            as kill(2) goes); the figure is ns per kill(2) call itself
 *   storm spawn N     N times fork, execve /bin/true, wait
 *   storm getppid N   N getppid(2) calls (what one audit syscall rule costs every unrelated syscall)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got++; }

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: storm signals|spawn|getppid N [RATE]\n"); return 2; }
    long rate = argc > 3 ? atol(argv[3]) : 0;
    long n = atol(argv[2]);
    long long t0, t1;
    if (strcmp(argv[1], "signals") == 0) {
        pid_t child = fork();
        if (child < 0) { perror("fork"); return 1; }
        if (child == 0) {
            signal(SIGUSR1, on_usr1);
            for (;;) pause();
        }
        usleep(100000); /* the child has its handler before the first signal */
        long long spent = 0, start = now_ns();
        for (long i = 0; i < n; i++) {
            long long a = now_ns();
            kill(child, SIGUSR1);
            spent += now_ns() - a;
            /* Paced: every 100 signals, wait until the schedule catches up. */
            if (rate > 0 && i % 100 == 99) {
                long long due = start + (long long)((i + 1) * (1e9 / (double)rate));
                while (now_ns() < due) { struct timespec ts = {0, 20000}; nanosleep(&ts, NULL); }
            }
        }
        t0 = 0;
        t1 = spent;
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    } else if (strcmp(argv[1], "spawn") == 0) {
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) { execl("/bin/true", "true", (char *)NULL); _exit(127); }
            if (p > 0) waitpid(p, NULL, 0);
        }
        t1 = now_ns();
    } else if (strcmp(argv[1], "getppid") == 0) {
        t0 = now_ns();
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
        t1 = now_ns();
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    printf("%s %ld %.1f\n", argv[1], n, (double)(t1 - t0) / (double)n);
    return 0;
}
