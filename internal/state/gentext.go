package state

// genTextBlockLen is how many generated machines, numbered one after
// another, have their texts in one genTextBlock.
const genTextBlockLen = 32

// genTextBlock is the texts (fleet.text: the id, then the computer name)
// of genTextBlockLen generated machines numbered one after another, in
// one string, held while any of them has a kept action, and their
// tenant. An action of a generated machine keeps its machine's block
// (Action.gblock), which gives its machine's id and name and its tenant:
// under bench/run's POST load, 260,000 machines each with an action, that
// is ~8,000 blocks for the collector to mark instead of 260,000 strings
// spread over the heap (docs/performance.md, "Actions side by side"), and
// one pointer word an action instead of two. A block is made when the
// first of its machines takes an action, ~2 KiB with the default names,
// and let go when the last of its machines' actions is forgotten.
type genTextBlock struct {
	tenant *Tenant
	text   string
	ends   [genTextBlockLen]uint32 // where each machine's text ends in text
	refs   int                     // its machines with kept actions (Tenant.gens)
}

// machineText returns the text of generated machine num, one of b's.
func (b *genTextBlock) machineText(num uint32) string {
	j := (num - 1) % genTextBlockLen
	start := uint32(0)
	if j > 0 {
		start = b.ends[j-1]
	}
	return b.text[start:b.ends[j]]
}

// genTextLocked returns the block of generated machine num, made if none
// of its machines has kept actions. Call it with t.mu held for writing; a
// new block holds no reference until holdGenTextLocked.
func (t *Tenant) genTextLocked(num uint32) *genTextBlock {
	k := (num - 1) / genTextBlockLen
	b := t.gtexts[k]
	if b == nil {
		b = t.fleet.textBlock(k)
		b.tenant = t
		if t.gtexts == nil {
			t.gtexts = map[uint32]*genTextBlock{}
		}
		t.gtexts[k] = b
	}
	return b
}

// holdGenTextLocked notes that generated machine num has kept actions now
// (its entry in Tenant.gens was made), and releaseGenTextLocked that it
// has none (the entry was deleted): a block none of whose machines has
// any is let go. Call them with t.mu held for writing.
func (t *Tenant) holdGenTextLocked(num uint32) {
	t.gtexts[(num-1)/genTextBlockLen].refs++
}

func (t *Tenant) releaseGenTextLocked(num uint32) {
	k := (num - 1) / genTextBlockLen
	b := t.gtexts[k]
	if b == nil {
		return
	}
	if b.refs--; b.refs <= 0 {
		delete(t.gtexts, k)
	}
}

// textBlock returns the block k of f's machines' texts: machines
// k*genTextBlockLen+1 on, up to genTextBlockLen of them and no further
// than f's last.
func (f *fleet) textBlock(k uint32) *genTextBlock {
	b := &genTextBlock{}
	first := int(k)*genTextBlockLen + 1
	n := min(genTextBlockLen, f.size()-first+1)
	buf := make([]byte, 0, n*(40+len(f.domain)+16))
	for j := range n {
		buf = f.appendText(buf, first+j)
		b.ends[j] = uint32(len(buf))
	}
	b.text = string(buf)
	return b
}
