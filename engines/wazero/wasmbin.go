package main

// What wazero's CompiledModule does not list: exported globals (for the
// state diff, in export order as wasmtime lists them) and every import's
// module name (spec_imports). Read from the binary's sections.

func readLEB(b []byte, i int) (uint64, int, bool) {
	var v uint64
	for shift := uint(0); i < len(b) && shift < 64; shift += 7 {
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, i, true
		}
	}
	return 0, i, false
}

// sections calls f with each section's id and payload.
func sections(b []byte, f func(id byte, p []byte)) {
	if len(b) < 8 {
		return
	}
	for i := 8; i < len(b); {
		id := b[i]
		n, j, ok := readLEB(b, i+1)
		if !ok || j+int(n) > len(b) {
			return
		}
		f(id, b[j:j+int(n)])
		i = j + int(n)
	}
}

func readName(p []byte, i int) (string, int, bool) {
	n, j, ok := readLEB(p, i)
	if !ok || j+int(n) > len(p) {
		return "", j, false
	}
	return string(p[j : j+int(n)]), j + int(n), true
}

func exportedGlobals(b []byte) []string {
	var out []string
	sections(b, func(id byte, p []byte) {
		if id != 7 {
			return
		}
		count, i, ok := readLEB(p, 0)
		for k := uint64(0); ok && k < count; k++ {
			var name string
			if name, i, ok = readName(p, i); !ok || i >= len(p) {
				return
			}
			kind := p[i]
			if _, i, ok = readLEB(p, i+1); !ok {
				return
			}
			if kind == 3 {
				out = append(out, name)
			}
		}
	})
	return out
}

// importModules: the module names a binary imports from, first use order,
// each once. Only the module and field names are read, so an import of any
// kind is counted without decoding its type.
func importModules(b []byte) []string {
	out := []string{}
	seen := map[string]bool{}
	sections(b, func(id byte, p []byte) {
		if id != 2 {
			return
		}
		count, i, ok := readLEB(p, 0)
		for k := uint64(0); ok && k < count; k++ {
			var m string
			if m, i, ok = readName(p, i); !ok {
				return
			}
			if _, i, ok = readName(p, i); !ok || i >= len(p) {
				return
			}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
			// Skip the import's description.
			kind := p[i]
			i++
			switch kind {
			case 0, 4: // func type index; tag: attribute byte + type index
				if kind == 4 {
					i++
				}
				_, i, ok = readLEB(p, i)
			case 1: // table: reftype (may be a multi-byte ref type) + limits
				i = skipRefType(p, i)
				i, ok = skipLimits(p, i)
			case 2:
				i, ok = skipLimits(p, i)
			case 3: // global: valtype + mut
				i = skipValType(p, i)
				i++
			default:
				return
			}
		}
	})
	return out
}

func skipRefType(p []byte, i int) int {
	if i < len(p) && (p[i] == 0x63 || p[i] == 0x64) { // (ref null? ht)
		_, j, _ := readLEB(p, i+1)
		return j
	}
	return i + 1
}

func skipValType(p []byte, i int) int { return skipRefType(p, i) }

func skipLimits(p []byte, i int) (int, bool) {
	if i >= len(p) {
		return i, false
	}
	flags := p[i]
	_, i, ok := readLEB(p, i+1)
	if ok && flags&1 != 0 {
		_, i, ok = readLEB(p, i)
	}
	return i, ok
}
