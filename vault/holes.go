package vault

import "sort"

// Holes. A device's entries are applied in sequence order, but an entry
// that is damaged or missing on this disk does not stop the ones after it
// (each verifies alone by its signature): it becomes a hole, an entry
// below the device's head that was never applied. The merge treats an op
// id in a hole as not arrived (it may come later, restored from another
// device), so the state stays a function of the set of entries applied.

// seqRange is the sequence numbers From…To, inclusive.
type seqRange struct{ From, To uint64 }

// seqRanges is a sorted list of disjoint, non-adjacent ranges.
type seqRanges []seqRange

func (r seqRanges) has(seq uint64) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i].To >= seq })
	return i < len(r) && r[i].From <= seq
}

// add returns r with from…to added.
func (r seqRanges) add(from, to uint64) seqRanges {
	if from > to {
		return r
	}
	out := make(seqRanges, 0, len(r)+1)
	placed := false
	for _, x := range r {
		switch {
		case x.To+1 < from:
			out = append(out, x)
		case to+1 < x.From:
			if !placed {
				out = append(out, seqRange{from, to})
				placed = true
			}
			out = append(out, x)
		default: // overlapping or adjacent: merge into the new range
			from, to = min(from, x.From), max(to, x.To)
		}
	}
	if !placed {
		out = append(out, seqRange{from, to})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}

// remove returns r without seq.
func (r seqRanges) remove(seq uint64) seqRanges {
	out := make(seqRanges, 0, len(r)+1)
	for _, x := range r {
		switch {
		case seq < x.From || seq > x.To:
			out = append(out, x)
		case x.From == x.To:
		case seq == x.From:
			out = append(out, seqRange{x.From + 1, x.To})
		case seq == x.To:
			out = append(out, seqRange{x.From, x.To - 1})
		default:
			out = append(out, seqRange{x.From, seq - 1}, seqRange{seq + 1, x.To})
		}
	}
	return out
}

// count is the number of sequence numbers in r.
func (r seqRanges) count() uint64 {
	var n uint64
	for _, x := range r {
		n += x.To - x.From + 1
	}
	return n
}
