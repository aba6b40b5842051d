// proto.go — the goroutine profile in pprof's protobuf form (gzipped), as
// `goroutine` without `debug` serves it: one sample per stack with its
// count, one location per frame (leaf first), one mapping.
//
// Written by hand because the standard library has no protobuf encoder and
// the message needs only varints and length-delimited fields
// (github.com/google/pprof/proto/profile.proto field numbers).
//
// Not for: labels, inlined frames or anything but the goroutine profile.
package main

import (
	"bytes"
	"compress/gzip"
	"time"
)

type pbuf struct{ b []byte }

func (p *pbuf) varint(v uint64) {
	for v >= 0x80 {
		p.b = append(p.b, byte(v)|0x80)
		v >>= 7
	}
	p.b = append(p.b, byte(v))
}

func (p *pbuf) key(field, wire int) { p.varint(uint64(field)<<3 | uint64(wire)) }

func (p *pbuf) uint(field int, v uint64) {
	if v == 0 {
		return
	}
	p.key(field, 0)
	p.varint(v)
}

func (p *pbuf) bytes(field int, v []byte) {
	p.key(field, 2)
	p.varint(uint64(len(v)))
	p.b = append(p.b, v...)
}

func (p *pbuf) packed(field int, vs []uint64) {
	var q pbuf
	for _, v := range vs {
		q.varint(v)
	}
	p.bytes(field, q.b)
}

type strtab struct {
	idx  map[string]uint64
	list []string
}

func (s *strtab) id(v string) uint64 {
	if i, ok := s.idx[v]; ok {
		return i
	}
	i := uint64(len(s.list))
	s.idx[v] = i
	s.list = append(s.list, v)
	return i
}

// writeProto writes the gzipped protobuf profile of groups.
func writeProto(out *bytes.Buffer, groups []group, now time.Time) error {
	st := &strtab{idx: map[string]uint64{}}
	st.id("")
	var p pbuf
	valueType := func(field int) {
		var v pbuf
		v.uint(1, st.id("goroutine"))
		v.uint(2, st.id("count"))
		p.bytes(field, v.b)
	}
	valueType(1) // sample_type

	locs := map[uint64]uint64{}  // pc -> location id
	funcs := map[string]uint64{} // name -> function id
	var locMsgs, funcMsgs [][]byte
	location := func(f frame, pc uint64) uint64 {
		if id, ok := locs[pc]; ok {
			return id
		}
		fid, ok := funcs[f.fn]
		if !ok {
			fid = uint64(len(funcs) + 1)
			funcs[f.fn] = fid
			var fm pbuf
			fm.uint(1, fid)
			fm.uint(2, st.id(f.fn))
			fm.uint(3, st.id(f.fn))
			fm.uint(4, st.id(f.file))
			funcMsgs = append(funcMsgs, fm.b)
		}
		id := uint64(len(locs) + 1)
		locs[pc] = id
		var line pbuf
		line.uint(1, fid)
		line.uint(2, uint64(f.line))
		var lm pbuf
		lm.uint(1, id)
		lm.uint(2, 1) // mapping
		lm.uint(3, pc)
		lm.bytes(4, line.b)
		locMsgs = append(locMsgs, lm.b)
		return id
	}
	for _, g := range groups {
		if g.n == 0 {
			continue
		}
		ids := make([]uint64, 0, len(g.st.frames)+1)
		for i, f := range g.st.frames {
			pc := f.pc
			if i > 0 {
				pc++
			}
			ids = append(ids, location(f, pc))
		}
		ids = append(ids, location(goexit, goexit.pc))
		var sm pbuf
		sm.packed(1, ids)
		sm.packed(2, []uint64{uint64(g.n)})
		p.bytes(2, sm.b)
	}
	var mm pbuf
	mm.uint(1, 1)
	mm.uint(2, 0x400000)
	mm.uint(3, 0xc00000)
	mm.uint(5, st.id("/svc"))
	mm.uint(7, 1) // has_functions
	p.bytes(3, mm.b)
	for _, l := range locMsgs {
		p.bytes(4, l)
	}
	for _, f := range funcMsgs {
		p.bytes(5, f)
	}
	// Every string the profile refers to is interned above; period_type
	// adds none.
	pt := pbuf{}
	pt.uint(1, st.id("goroutine"))
	pt.uint(2, st.id("count"))
	for _, s := range st.list {
		p.bytes(6, []byte(s))
	}
	p.uint(9, uint64(now.UnixNano()))
	p.bytes(11, pt.b)
	p.uint(12, 1)

	zw, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := zw.Write(p.b); err != nil {
		return err
	}
	return zw.Close()
}
