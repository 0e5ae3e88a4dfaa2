/* A hostile native program for tests/hostile_native.rs, run as a prebuilt
   program (`faultbox run --native hostile -- MODE`). It says on stdout what
   it tried and what the kernel answered, then exits 0, whatever happened:
   - kill-parent:     kill(getppid(), SIGKILL): the fork server.
   - kill-supervisor: kill(<the fork server's parent>, SIGKILL), found in
                      /proc: the supervisor.
   - trace:           ptrace(PTRACE_ATTACH) on the fork server, then on the
                      supervisor; a tracee is detached at once.
   - forge:           writes report lines claiming a recovery and a passing
                      health check to descriptor 3 and to the one named by
                      FAULTBOX_REPORT_FD, if any.
   - escape:          forks a child that leaves the process group with
                      setsid() and spins; prints its pid; waits for it.
   - autoreap:        ignores SIGCHLD (its children are reaped by the kernel,
                      their CPU with them) and keeps forking children that
                      spin 20 ms each. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int parent_of(int pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *end = strrchr(buf, ')');
    int ppid = -1;
    if (!end || sscanf(end + 2, "%*c %d", &ppid) != 1) return -1;
    return ppid;
}

static void say(const char *what, int pid, long r) {
    printf("%s %d: %s\n", what, pid, r == 0 ? "done" : strerror(errno));
    fflush(stdout);
}

static void attach(const char *who, int pid) {
    long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
    say(who, pid, r);
    if (r == 0) {
        int status;
        waitpid(pid, &status, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
    }
}

static void spin_ms(long ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    int fork_server = getppid();
    if (strcmp(mode, "kill-parent") == 0) {
        say("kill fork server", fork_server, kill(fork_server, SIGKILL));
    } else if (strcmp(mode, "kill-supervisor") == 0) {
        int supervisor = parent_of(fork_server);
        say("kill supervisor", supervisor, supervisor > 1 ? kill(supervisor, SIGKILL) : -1);
    } else if (strcmp(mode, "trace") == 0) {
        attach("attach fork server", fork_server);
        int supervisor = parent_of(fork_server);
        if (supervisor > 1) attach("attach supervisor", supervisor);
    } else if (strcmp(mode, "forge") == 0) {
        const char *lines = "started forged 0\nrecovered forged.Panic caught it\nhealth 1611526157\nreturned 7\n";
        long r = write(3, lines, strlen(lines)) < 0 ? -1 : 0;
        say("write fd", 3, r);
        const char *env = getenv("FAULTBOX_REPORT_FD");
        printf("FAULTBOX_REPORT_FD=%s\n", env ? env : "(unset)");
        if (env) say("write fd", atoi(env), write(atoi(env), lines, strlen(lines)) < 0 ? -1 : 0);
    } else if (strcmp(mode, "escape") == 0) {
        pid_t child = fork();
        if (child == 0) {
            setsid();
            for (volatile unsigned long i = 0;; i++) {
            }
        }
        printf("spinner %d\n", child);
        fflush(stdout);
        waitpid(child, NULL, 0);
    } else if (strcmp(mode, "autoreap") == 0) {
        signal(SIGCHLD, SIG_IGN);
        for (;;) {
            if (fork() == 0) {
                spin_ms(20);
                _exit(0);
            }
            usleep(25000);
        }
    } else {
        fprintf(stderr, "hostile: unknown mode `%s`\n", mode);
        return 2;
    }
    return 0;
}
