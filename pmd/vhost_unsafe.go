package pmd

/*
#cgo LDFLAGS: -lrte_net_vhost
#include <stdint.h>
#include <rte_eth_vhost.h>
#include <rte_vhost.h>

// opmd_vhost_features reads the virtio features a vhost-user port's guest
// negotiated. It returns -ENODEV when no guest is attached (no vid) and
// the vhost library's own result otherwise.
static int
opmd_vhost_features(uint16_t port, uint64_t *features)
{
	int vid = rte_eth_vhost_get_vid_from_port_id(port);

	if (vid < 0)
		return -ENODEV;
	return rte_vhost_get_negotiated_features(vid, features);
}
*/
import "C"

// VhostDriver is the vhost-user PMD's driver name.
const VhostDriver = "net_vhost"

// IsVhost reports whether p is a vhost-user port (net_vhost).
func (p *EthPort) IsVhost() bool { return p.info.Driver == VhostDriver }

// VhostGuestFeatures returns the virtio-net feature bits (VIRTIO_NET_F_*,
// named in package offload) that the guest attached to a net_vhost port
// negotiated, and false when the port is not a vhost-user port or no guest
// is attached. A guest that reconnects may negotiate other features: read
// them again on each link up.
func (p *EthPort) VhostGuestFeatures() (uint64, bool) {
	if !p.IsVhost() {
		return 0, false
	}
	var f C.uint64_t
	if rc := C.opmd_vhost_features(C.uint16_t(p.id), &f); rc != 0 {
		return 0, false
	}
	return uint64(f), true
}
