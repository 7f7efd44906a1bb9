package pmd

// Mark is the mbuf's hash.fdir.hi: the mark of a packet a flow rule's
// MARK action matched (RTE_MBUF_F_RX_FDIR_ID set), as DPDK's drivers
// report it.
func (m *Mbuf) Mark() uint32 { return m.hash[1] }

// SetMark writes hash.fdir.hi; the caller sets RTE_MBUF_F_RX_FDIR and
// RTE_MBUF_F_RX_FDIR_ID with it.
func (m *Mbuf) SetMark(id uint32) { m.hash[1] = id }
