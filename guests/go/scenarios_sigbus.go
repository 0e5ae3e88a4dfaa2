//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"unsafe"
)

func init() {
	scenarios["sigbus_truncated_mapping"] = sigbusTruncatedMapping
	scenarios["sigbus_truncated_mapping_panic_on_fault"] = sigbusTruncatedMappingPanicOnFault
}

// memfdCreate is memfd_create(2)'s number per GOARCH (package syscall's
// tables are frozen and lack it for amd64); 0: unknown, use a temp file.
var memfdCreate = map[string]uintptr{
	"amd64":   319,
	"386":     356,
	"arm64":   279,
	"riscv64": 279,
	"loong64": 279,
	"arm":     385,
	"s390x":   350,
}[runtime.GOARCH]

// mappableFile returns a descriptor for an empty file that needs no
// filesystem: memfd_create, or else an unlinked file in os.TempDir().
func mappableFile() (int, error) {
	if memfdCreate != 0 {
		name := []byte("faultbox-sigbus\x00")
		const mfdCloexec = 1
		fd, _, errno := syscall.Syscall(memfdCreate, uintptr(unsafe.Pointer(&name[0])), mfdCloexec, 0)
		if errno == 0 {
			return int(fd), nil
		}
	}
	f, err := os.CreateTemp(os.TempDir(), "faultbox-sigbus-*")
	if err != nil {
		return -1, err
	}
	defer f.Close()
	os.Remove(f.Name())
	return syscall.Dup(int(f.Fd()))
}

// sigbusTruncatedMapping maps a 2-page file MAP_SHARED, truncates the file
// to 0 under the mapping, then stores to the first page: the kernel raises
// SIGBUS (BUS_ADRERR) at the mapping's address. progress 1 comes right
// before the store. A setup failure returns -1 (message on stderr).
func sigbusTruncatedMapping(arg int64) int64 {
	fd, err := mappableFile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sigbus_truncated_mapping: setup:", err)
		return -1
	}
	size := 2 * os.Getpagesize()
	if err := syscall.Ftruncate(fd, int64(size)); err != nil {
		syscall.Close(fd)
		fmt.Fprintln(os.Stderr, "sigbus_truncated_mapping: ftruncate:", err)
		return -1
	}
	mem, err := syscall.Mmap(fd, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		syscall.Close(fd)
		fmt.Fprintln(os.Stderr, "sigbus_truncated_mapping: mmap:", err)
		return -1
	}
	// Runs only if the fault becomes a panic (SetPanicOnFault).
	defer func() {
		deferred("unmap")
		syscall.Munmap(mem)
		syscall.Close(fd)
	}()
	if err := syscall.Ftruncate(fd, 0); err != nil {
		fmt.Fprintln(os.Stderr, "sigbus_truncated_mapping: ftruncate 0:", err)
		return -1
	}
	progress(1)
	mem[0] = byte(arg) | 1
	return int64(mem[0])
}

// sigbusTruncatedMappingPanicOnFault is the same after
// debug.SetPanicOnFault(true).
func sigbusTruncatedMappingPanicOnFault(arg int64) int64 {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	return sigbusTruncatedMapping(arg)
}
