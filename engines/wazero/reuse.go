package main

// The state diff of host/src/wasm/reuse.rs, reimplemented: live memory vs
// the dead part of the shadow stack (below __stack_pointer at entry),
// changed bytes counted, runs merged across gaps < 64 bytes, at most 6
// runs, exported globals "name: before -> after" without __stack_pointer.
//
// A page counts as touched when it holds a non-zero byte (reuse.rs's rule
// where the kernel cannot say, as for wasmi's heap memory: wazero's memory
// is a Go slice too); an untouched page reads as zeros, so the diff is the
// same as with residency, and a large, mostly empty memory stays small.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/tetratelabs/wazero/api"
)

const pageSize = 4096

type snapshot struct {
	sp      *uint32
	globals [][2]string
	memLen  int
	hasMem  bool
	pages   map[int][]byte
}

func (i *instance) stackPointer() *uint32 {
	g := i.mod.ExportedGlobal(stackPointer)
	if g == nil || g.Type() != api.ValueTypeI32 {
		return nil
	}
	v := uint32(g.Get())
	return &v
}

func (i *instance) globalValues() [][2]string {
	var out [][2]string
	for _, name := range i.e.globals {
		g := i.mod.ExportedGlobal(name)
		if g == nil {
			continue
		}
		out = append(out, [2]string{name, showGlobal(g)})
	}
	return out
}

// showGlobal writes a value as wasmtime's backend does (hex for integers).
func showGlobal(g api.Global) string {
	v := g.Get()
	switch g.Type() {
	case api.ValueTypeI32:
		return fmt.Sprintf("%#x", uint32(v))
	case api.ValueTypeI64:
		return fmt.Sprintf("%#x", v)
	case api.ValueTypeF32:
		return rustFloat(float64(math.Float32frombits(uint32(v))), 32)
	case api.ValueTypeF64:
		return rustFloat(math.Float64frombits(v), 64)
	}
	return fmt.Sprintf("%#x", v)
}

func rustFloat(f float64, size int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, size)
}

func (i *instance) memory() []byte {
	m := i.mod.ExportedMemory("memory")
	if m == nil {
		return nil
	}
	b, _ := m.Read(0, m.Size())
	if b == nil {
		b = []byte{}
	}
	return b
}

func touched(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return true
		}
	}
	return false
}

func (i *instance) snapshot() *snapshot {
	s := &snapshot{sp: i.stackPointer(), globals: i.globalValues(), pages: map[int][]byte{}}
	if mem := i.memory(); mem != nil {
		s.hasMem, s.memLen = true, len(mem)
		for at := 0; at < len(mem); at += pageSize {
			p := mem[at:min(at+pageSize, len(mem))]
			if touched(p) {
				s.pages[at/pageSize] = append([]byte(nil), p...)
			}
		}
	}
	return s
}

type diff struct {
	changed uint64
	runs    [][2]uint32
}

const (
	runGap  = 64
	maxRuns = 6
)

func (d *diff) note(lo, hi int, n uint64) {
	d.changed += n
	if k := len(d.runs); k > 0 && (lo <= int(d.runs[k-1][1])+runGap || k == maxRuns) {
		d.runs[k-1][1] = max(d.runs[k-1][1], uint32(hi))
		return
	}
	d.runs = append(d.runs, [2]uint32{uint32(lo), uint32(hi)})
}

func (d *diff) add(old, new []byte, base int) {
	common := min(len(old), len(new))
	words := common / 8
	for i := 0; i < words; i++ {
		x := binary.LittleEndian.Uint64(old[i*8:]) ^ binary.LittleEndian.Uint64(new[i*8:])
		if x != 0 {
			at := base + i*8
			lo := at + bits.TrailingZeros64(x)/8
			hi := at + 7 - bits.LeadingZeros64(x)/8
			d.note(lo, hi, nonzeroBytes(x))
		}
	}
	for i := words * 8; i < common; i++ {
		if old[i] != new[i] {
			d.note(base+i, base+i, 1)
		}
	}
	for i := common; i < len(new); i++ {
		if new[i] != 0 {
			d.note(base+i, base+i, 1)
		}
	}
}

func nonzeroBytes(x uint64) uint64 {
	const low7 = 0x7F7F7F7F7F7F7F7F
	y := ((x & low7) + low7 | x) &^ low7
	return uint64(bits.OnesCount64(y))
}

func runsOrEmpty(r [][2]uint32) [][2]uint32 {
	if r == nil {
		return [][2]uint32{}
	}
	return r
}

func (i *instance) compare(before *snapshot) *reuseFacts {
	f := &reuseFacts{GlobalsChanged: []string{}}
	if sp := i.stackPointer(); before.sp != nil && sp != nil {
		f.StackPointer = &[2]uint32{*before.sp, *sp}
	}
	after := i.globalValues()
	for k := 0; k < len(before.globals) && k < len(after); k++ {
		b, a := before.globals[k], after[k]
		if b[0] != stackPointer && b[1] != a[1] {
			f.GlobalsChanged = append(f.GlobalsChanged, fmt.Sprintf("%s: %s -> %s", b[0], b[1], a[1]))
		}
	}
	var live, dead diff
	if mem := i.memory(); before.hasMem && mem != nil {
		f.MemorySize = &[2]string{decU(uint64(before.memLen)), decU(uint64(len(mem)))}
		liveFrom := 0
		if before.sp != nil {
			liveFrom = int(*before.sp)
		}
		liveFrom = min(liveFrom, before.memLen, len(mem))
		zeros := make([]byte, pageSize)
		for at := 0; at < len(mem); at += pageSize {
			end := min(at+pageSize, len(mem))
			now := mem[at:end]
			beforePage, ok := before.pages[at/pageSize]
			if !ok {
				if !touched(now) {
					continue
				}
				beforePage = zeros[:min(end-at, max(before.memLen-at, 0))]
			}
			cut := min(max(liveFrom, at), end) - at
			cutOld := min(cut, len(beforePage))
			dead.add(beforePage[:cutOld], now[:cut], at)
			live.add(beforePage[cutOld:], now[cut:], at+cut)
		}
	}
	f.MemoryChangedBytes, f.MemoryChangedRuns = decU(live.changed), runsOrEmpty(live.runs)
	f.DeadStackChangedBytes, f.DeadStackChangedRuns = decU(dead.changed), runsOrEmpty(dead.runs)
	return f
}
