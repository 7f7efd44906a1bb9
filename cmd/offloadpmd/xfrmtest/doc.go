// Package xfrmtest holds offloadpmd's interoperability tests with the
// Linux kernel's IPsec (XFRM): offloadpmd encrypts and decrypts ESP
// between two kernel-facing TAP ports while a Linux peer, configured with
// `ip xfrm state` and `ip xfrm policy` and the same keys, does the other
// end. The peer is a network namespace when the running kernel has ESP;
// otherwise, where KVM, QEMU and Debian's kernel package are installed,
// a small virtual machine running that kernel on the host's own root file
// system (see vm_test.go). The package has tests only.
package xfrmtest
