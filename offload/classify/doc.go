// Package classify is offloadpmd's packet classifier: flow rules written
// in dpdk-testpmd's `flow` syntax, and a classifier that finds, for a
// burst of packets, the rule each matches, at tens of millions of packets
// a second with 10,000 rules or more. It is pure Go.
//
// # Rules
//
// ParseCommand reads a whole testpmd 22.11 flow line:
//
//	flow create|validate <port> [group N] [priority N] [ingress] [egress]
//	     pattern <item> [<field> <modifier> <value>]... / ... / end
//	     actions <action> [<argument> <value>]... / ... / end
//	flow destroy <port> rule <id> [rule <id>]...
//	flow flush <port>
//	flow list <port> [group <g>]...
//	flow query <port> <id> count
//
// ParseRule reads what follows `flow create <port>` (as a configuration
// file holds rules). The items and their fields are rte_flow's, named as
// testpmd names them:
//
//	eth   dst src (MAC) type
//	vlan  tci pcp dei vid inner_type   (one vlan item: the first tag)
//	ipv4  tos ttl proto src dst (address)
//	ipv6  proto src dst (address)
//	tcp   src dst flags
//	udp   src dst
//	icmp  type code                    (ICMP for IPv4)
//
// A field is followed by a modifier and a value: "is V" (exactly V),
// "spec V" (V under the field's mask), "last V" (a range from spec to V),
// "mask M" and "prefix N" (the mask of the field's first N bits). As in
// rte_flow, a value v matches when spec&mask <= v&mask <= last&mask. One
// deliberate difference: a value given with spec and no mask takes
// rte_flow's default mask for the item where that mask covers the field
// (the VLAN TCI: its VID), and otherwise the whole field, where rte_flow
// would ignore the value (ipv4 tos, ttl, proto; tcp flags; eth type).
// Ranges of IPv6 addresses are not supported (use prefix or mask).
// Items come in layer order; tcp, udp and icmp imply their IP protocol
// and that their header is in the packet (not a later fragment).
//
// The actions are rte_flow's drop, count [identifier N], mark [id N],
// queue [index N], rss [func F] [level N] [types T... end] [queues Q...
// end] and passthru, and offloadpmd's task attachments esp sa N, digest
// [alg hmac-sha256|sha256|crc32c], tso segsz N and csum. A rule has at
// most one fate (drop, queue, rss, passthru), and a dropped packet takes
// no tasks.
//
// A wrong line is a *SyntaxError naming the token (counted from 1, "flow"
// being the first), what is wrong with it and what may stand there:
//
//	flow: token 8 "ipv5": unknown item (did you mean "ipv4"?); allowed: eth, vlan, ipv4, ipv6, tcp, udp, icmp, end
//
// Complete lists what may follow the words typed so far, for a prompt's
// completion; Rule.String writes a rule back in the syntax, and
// Rule.ListLine as testpmd's `flow list` shows it.
//
// # Classification
//
// A packet is a Key: its fields as 16 dimensions (Tuple: addresses, ports,
// protocol, VLAN, EtherTypes, TCP flags, TOS and TTL) and its MAC
// addresses, filled from a frame by FromFrame. Compile builds an
// immutable Classifier of rules; Classify (or ClassifyIndex) takes a burst
// of keys and writes each key's rule: the matching rule of lowest
// priority number, and among those the one created first, as rte_flow.
// It allocates nothing, and any number of goroutines may use one
// Classifier. A Set holds the rules of one port as the control plane
// edits them; each change compiles a new Classifier, which the caller
// publishes with an atomic pointer store, so the lcores never wait.
//
// The classifier is a set of HiCuts decision trees with bit-aligned cuts
// (see tree.go), chosen by measurement on the ClassBench rules and traces
// of dpdk-test-acl's figures: tuple space search, with port ranges
// expanded to prefixes, made 700 to 4,000 tuples of those rules and
// classified 0.01 to 0.2 Mpps; with ports checked in the hash buckets
// instead, 1.8 to 7 Mpps (tss_test.go); the trees, 45 to 80 Mpps.
//
// # Performance
//
// On the anchors' ClassBench rules and 100,000-key traces (gen_acl.py,
// seed 1: the files dpdk-test-acl was measured on), one core, keys in
// bursts of 256 as dpdk-test-acl's trace step (BenchmarkClassBench), in
// Mpps, median of 9 rounds that ran each side in turn on the same core
// of the same machine (a shared 2-vCPU KVM guest of an Intel Xeon with
// AVX-512, where single runs vary by a factor of two):
//
//	rules   offloadpmd   dpdk-test-acl: scalar   avx2   avx512x32   ratio to avx512x32
//	  100         77.5                    26.7   29.4        57.0   1.13 (0.88-1.62)
//	 1000         68.1                    24.8   32.8        66.6   1.06 (0.90-1.35)
//	10000         56.6                     7.6   14.2        26.4   2.10 (1.82-2.59)
//
// (The ratio is the median and range of the per-round ratios.) The
// anchors' figures, from another machine (AMD Zen 5): 1,000 rules scalar
// 30.0, avx2 35.0, avx512x32 57.3; 10,000 rules scalar 9.9, avx512x32
// 43.9. TestClassBenchDPDK checks that both classify every key of the
// traces to the same rule.
//
// Building 10,000 ClassBench rules takes 30 to 50 ms, 1,000 about 5 to
// 10 ms (BenchmarkBuild); a tree's nodes and leaf entries are
// bounded by Options.MemoryFactor times its rules, so no rule set can
// make the classifier exhaust memory. Rules that overlap in every tree
// dimension and differ only in MAC addresses or non-prefix masks share
// leaves and are compared one by one, so classifiers of many such rules
// are slower.
package classify
