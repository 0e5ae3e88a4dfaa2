//go:build cgo

// The C side of the cgo scenarios that call back into Go or need C
// definitions beside //export (which limits a file's preamble to
// declarations). Built only with cgo, like scenarios_cgo.go.

#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "_cgo_export.h"
#include "faults_cgo.h"

void fb_call_go_callback_panic(void) {
	goCallbackPanic();
}

static int fb_empty_file(void) {
#if defined(__linux__) && defined(SYS_memfd_create)
	int fd = (int)syscall(SYS_memfd_create, "faultbox-cgo-sigbus", 1 /* MFD_CLOEXEC */);
	if (fd >= 0)
		return fd;
#endif
	char path[] = "/tmp/faultbox-cgo-sigbus-XXXXXX";
	int t = mkstemp(path);
	if (t >= 0)
		unlink(path);
	return t;
}

void *fb_c_truncated_mapping(void) {
	long page = sysconf(_SC_PAGESIZE);
	int fd = fb_empty_file();
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, 2 * page) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	void *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (ftruncate(fd, 0) != 0) {
		int e = errno;
		munmap(p, 2 * page);
		close(fd);
		errno = e;
		return NULL;
	}
	close(fd); /* the mapping keeps the (now empty) file */
	return p;
}

void fb_c_store(void *p, int v) {
	*(volatile int *)p = v;
}

static jmp_buf fb_across_go;

int fb_setjmp_then_call_go(void) {
	if (setjmp(fb_across_go) == 0) {
		goLongjmpCallback();
		return 0;
	}
	return 1;
}

void fb_longjmp_back(void) {
	longjmp(fb_across_go, 1);
}

static jmp_buf fb_within_c;

static __attribute__((noinline)) void fb_c_jump_back(void) {
	longjmp(fb_within_c, 1);
}

int fb_setjmp_longjmp_within_c(void) {
	if (setjmp(fb_within_c) == 0) {
		fb_c_jump_back();
		return 0;
	}
	return 1;
}

int fb_c_add_one(int x) {
	return x + 1;
}
