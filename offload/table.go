package offload

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors of the capability model.
var (
	// ErrNotSupported: neither the device nor offloadpmd's software can
	// perform the capability.
	ErrNotSupported = errors.New("not supported")
	// ErrUnknownCapability: no capability has that name.
	ErrUnknownCapability = errors.New("unknown capability")
)

// Performer is who does a task.
type Performer uint8

// Performers.
const (
	PerformNone Performer = iota
	PerformHardware
	PerformSoftware
)

func (p Performer) String() string {
	switch p {
	case PerformHardware:
		return "hardware"
	case PerformSoftware:
		return "software"
	}
	return "none"
}

// Table is one port's capability table: for each capability, whether the
// device advertises it, whether software provides it, whether it is
// enabled, and who performs it. Tables are immutable; a change makes a
// new one, which Registry publishes by atomic swap, and lcores load the
// current table once per burst.
type Table struct {
	Port   uint16
	Driver string
	// Version counts the changes since the port's first table.
	Version uint64
	// MTU is the port's IP MTU: segments sent on it are never larger.
	MTU uint16
	// Quirks are the device's known departures from its capabilities.
	Quirks Quirks

	hwRx RxCaps // advertised by the device
	hwTx TxCaps
	swRx RxCaps // provided in software
	swTx TxCaps
	enRx RxCaps // enabled
	enTx TxCaps
	// Enabled capabilities the device could do but software is to do:
	// testpmd's `csum set ip sw`.
	forceSwRx RxCaps
	forceSwTx TxCaps
}

// NewTable is a port's table with nothing enabled. hwRx and hwTx are what
// the device advertises (its rx/tx_offload_capa).
func NewTable(port uint16, driver string, hwRx RxCaps, hwTx TxCaps) *Table {
	return &Table{Port: port, Driver: driver, Quirks: DriverQuirks(driver), hwRx: hwRx, hwTx: hwTx, swRx: SoftwareRx, swTx: SoftwareTx}
}

// HardwareRx is what the device advertises for RX.
func (t *Table) HardwareRx() RxCaps { return t.hwRx }

// HardwareTx is what the device advertises for TX.
func (t *Table) HardwareTx() TxCaps { return t.hwTx }

// SoftwareRx is what offloadpmd's engines provide for RX.
func (t *Table) SoftwareRx() RxCaps { return t.swRx }

// SoftwareTx is what offloadpmd's engines provide for TX.
func (t *Table) SoftwareTx() TxCaps { return t.swTx }

// EnabledRx are the enabled RX capabilities.
func (t *Table) EnabledRx() RxCaps { return t.enRx }

// EnabledTx are the enabled TX capabilities.
func (t *Table) EnabledTx() TxCaps { return t.enTx }

// RxBy is who performs RX capability c (one bit).
func (t *Table) RxBy(c RxCaps) Performer {
	return performer(t.enRx&c != 0, t.hwRx&c != 0 && t.forceSwRx&c == 0, t.swRx&c != 0)
}

// TxBy is who performs TX capability c (one bit).
func (t *Table) TxBy(c TxCaps) Performer {
	return performer(t.enTx&c != 0, t.hwTx&c != 0 && t.forceSwTx&c == 0, t.swTx&c != 0)
}

func performer(enabled, hw, sw bool) Performer {
	switch {
	case !enabled:
		return PerformNone
	case hw:
		return PerformHardware
	case sw:
		return PerformSoftware
	}
	return PerformNone
}

// DeviceRx are the RX offloads to enable in the device's configuration:
// enabled, advertised, and not moved to software.
func (t *Table) DeviceRx() RxCaps { return t.enRx & t.hwRx &^ t.forceSwRx & RxDPDKMask }

// DeviceTx are the TX offloads to enable in the device's configuration.
func (t *Table) DeviceTx() TxCaps { return t.HardwareTxTasks() & TxDPDKMask }

// HardwareTxTasks are the enabled TX capabilities the device performs,
// the bits DPDK has no flag for included (a TAP kernel's or a vhost-user
// guest's TSO over IPv6): what the TX stage leaves to the device.
func (t *Table) HardwareTxTasks() TxCaps { return t.enTx & t.hwTx &^ t.forceSwTx }

// WithHardwareTx returns a copy of t whose device performs the TX
// capabilities hw instead of what it did before, for a device whose
// abilities change while it runs: a vhost-user port's guest negotiates
// them each time it connects. What is enabled stays enabled where
// someone can still perform it; the enabled capabilities nobody can
// perform any longer are disabled and returned.
func (t *Table) WithHardwareTx(hw TxCaps) (*Table, TxCaps) {
	n := *t
	n.Version++
	n.hwTx = hw
	var lost TxCaps
	for c := TxCaps(1); c != 0; c <<= 1 {
		if n.enTx&c != 0 && n.TxBy(c) == PerformNone {
			lost |= c
		}
	}
	n.enTx &^= lost
	return &n, lost
}

// Change describes an edit of a table.
type Change struct {
	EnableRx, DisableRx    RxCaps
	EnableTx, DisableTx    TxCaps
	SoftwareRx, HardwareRx RxCaps // move enabled-or-not capabilities to software, or back
	SoftwareTx, HardwareTx TxCaps
}

// Apply returns a new table with c applied. Enabling a capability nobody
// can perform, or moving to software one software cannot do, is an error
// wrapping ErrNotSupported that names each one; t is unchanged.
func (t *Table) Apply(c Change) (*Table, error) {
	n := *t
	n.Version++
	n.forceSwRx = (n.forceSwRx | c.SoftwareRx) &^ c.HardwareRx
	n.forceSwTx = (n.forceSwTx | c.SoftwareTx) &^ c.HardwareTx
	n.enRx = (n.enRx | c.EnableRx) &^ c.DisableRx
	n.enTx = (n.enTx | c.EnableTx) &^ c.DisableTx
	var bad []string
	for _, name := range (c.SoftwareRx &^ n.swRx).Names() {
		bad = append(bad, "rx "+name+" in software")
	}
	for _, name := range (c.SoftwareTx &^ n.swTx).Names() {
		bad = append(bad, "tx "+name+" in software")
	}
	for _, name := range (c.HardwareRx &^ n.hwRx).Names() {
		bad = append(bad, "rx "+name+" in hardware (not advertised by "+t.Driver+")")
	}
	for _, name := range (c.HardwareTx &^ n.hwTx).Names() {
		bad = append(bad, "tx "+name+" in hardware (not advertised by "+t.Driver+")")
	}
	for c := RxCaps(1); c != 0; c <<= 1 {
		if n.enRx&c != 0 && n.RxBy(c) == PerformNone {
			bad = append(bad, "rx "+strings.Join(c.Names(), ""))
		}
	}
	for c := TxCaps(1); c != 0; c <<= 1 {
		if n.enTx&c != 0 && n.TxBy(c) == PerformNone {
			bad = append(bad, "tx "+strings.Join(c.Names(), ""))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("port %d (%s): %w: %s", t.Port, t.Driver, ErrNotSupported, strings.Join(bad, ", "))
	}
	return &n, nil
}

// Entry is one row of a table, as the CLI and JSON show it.
type Entry struct {
	Dir       string `json:"dir"`
	Name      string `json:"name"`
	Hardware  bool   `json:"hardware"`
	Software  bool   `json:"software"`
	Enabled   bool   `json:"enabled"`
	Performer string `json:"performer"`
}

// Entries lists every named capability, RX then TX, in bit order.
func (t *Table) Entries() []Entry {
	var es []Entry
	for c := RxCaps(1); c != 0; c <<= 1 {
		if name, ok := rxCapNames[c]; ok {
			es = append(es, Entry{"rx", name, t.hwRx&c != 0, t.swRx&c != 0, t.enRx&c != 0, t.RxBy(c).String()})
		}
	}
	for c := TxCaps(1); c != 0; c <<= 1 {
		if name, ok := txCapNames[c]; ok {
			es = append(es, Entry{"tx", name, t.hwTx&c != 0, t.swTx&c != 0, t.enTx&c != 0, t.TxBy(c).String()})
		}
	}
	return es
}

// tableJSON is the serialised form: the task offload buffer.
type tableJSON struct {
	Port         uint16  `json:"port"`
	Driver       string  `json:"driver"`
	Version      uint64  `json:"version"`
	MTU          uint16  `json:"mtu"`
	Capabilities []Entry `json:"capabilities"`
}

// MarshalJSON writes the table with every capability.
func (t *Table) MarshalJSON() ([]byte, error) {
	return json.Marshal(tableJSON{t.Port, t.Driver, t.Version, t.MTU, t.Entries()})
}

// UnmarshalJSON reads a table MarshalJSON wrote.
func (t *Table) UnmarshalJSON(b []byte) error {
	var j tableJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	n := Table{Port: j.Port, Driver: j.Driver, Version: j.Version, MTU: j.MTU, Quirks: DriverQuirks(j.Driver)}
	for _, e := range j.Capabilities {
		switch e.Dir {
		case "rx":
			c, err := ParseRxCap(e.Name)
			if err != nil {
				return err
			}
			setIf(&n.hwRx, c, e.Hardware)
			setIf(&n.swRx, c, e.Software)
			setIf(&n.enRx, c, e.Enabled)
			setIf(&n.forceSwRx, c, e.Performer == "software" && e.Hardware)
		case "tx":
			c, err := ParseTxCap(e.Name)
			if err != nil {
				return err
			}
			setIf(&n.hwTx, c, e.Hardware)
			setIf(&n.swTx, c, e.Software)
			setIf(&n.enTx, c, e.Enabled)
			setIf(&n.forceSwTx, c, e.Performer == "software" && e.Hardware)
		default:
			return fmt.Errorf("capability %q: direction %q is neither rx nor tx", e.Name, e.Dir)
		}
	}
	*t = n
	return nil
}

func setIf[T ~uint64](set *T, c T, on bool) {
	if on {
		*set |= c
	}
}

// MaxPorts is how many ports a Registry holds: DPDK's 32 ethdev ports and
// as many Go-native ports.
const MaxPorts = 64

// Registry publishes each port's current table. Load is lock-free, for
// lcores once per burst; Update serialises writers.
type Registry struct {
	mu       sync.Mutex
	tables   [MaxPorts]atomic.Pointer[Table]
	onChange func()
}

// OnChange sets f to be called after each table the registry publishes,
// once lcores can load it (with the registry's lock held: f must not
// call back into it). nil removes it.
func (r *Registry) OnChange(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = f
}

// store publishes t as port's table. r.mu is held.
func (r *Registry) store(port uint16, t *Table) {
	r.tables[port].Store(t)
	if r.onChange != nil {
		r.onChange()
	}
}

// Load returns port's current table, or nil.
func (r *Registry) Load(port uint16) *Table {
	if int(port) >= MaxPorts {
		return nil
	}
	return r.tables[port].Load()
}

// Publish installs t as its port's table.
func (r *Registry) Publish(t *Table) error {
	if int(t.Port) >= MaxPorts {
		return fmt.Errorf("port %d: %w: at most %d ports", t.Port, ErrNotSupported, MaxPorts)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.store(t.Port, t)
	return nil
}

// RebaseTx replaces the TX capabilities port's device performs (see
// Table.WithHardwareTx) and publishes the result.
func (r *Registry) RebaseTx(port uint16, hw TxCaps) (t *Table, lost TxCaps, err error) {
	if int(port) >= MaxPorts {
		return nil, 0, fmt.Errorf("port %d: no table", port)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.tables[port].Load()
	if cur == nil {
		return nil, 0, fmt.Errorf("port %d: no table", port)
	}
	t, lost = cur.WithHardwareTx(hw)
	r.store(port, t)
	return t, lost, nil
}

// Update applies c to port's table and publishes the result: lcores see
// it at their next burst.
func (r *Registry) Update(port uint16, c Change) (*Table, error) {
	if int(port) >= MaxPorts {
		return nil, fmt.Errorf("port %d: no table", port)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.tables[port].Load()
	if cur == nil {
		return nil, fmt.Errorf("port %d: no table", port)
	}
	n, err := cur.Apply(c)
	if err != nil {
		return nil, err
	}
	r.store(port, n)
	return n, nil
}
