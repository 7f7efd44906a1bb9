/*
 * opmd.h: the C half of package pmd.
 *
 * Everything Go cannot call directly lives here: DPDK's static-inline fast
 * path (rx/tx burst, bulk alloc), rte_errno (a thread-local), the layout
 * constants Go needs to read mbufs without a cgo call, and the one call per
 * burst that a forwarding stream makes (opmd_stream_poll).
 *
 * Nothing here allocates Go memory or calls back into Go except the lcore
 * trampoline, which is the entry point of a worker lcore, the telemetry
 * callback, which runs on DPDK's telemetry threads, and the log stream,
 * which runs on whichever thread DPDK logs from.
 */
#ifndef OPMD_H
#define OPMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_config.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <rte_version.h>

/* Largest RX burst a stream takes (testpmd's MAX_PKT_BURST). */
#define OPMD_BURST_MAX 512
/* Capacity of a stream's TX and free arrays: a burst may grow on its way
 * (segmentation turns one packet into many), so TX holds several bursts. */
#define OPMD_TX_MAX 4096
/* Spare mbufs a stream keeps for packets it creates (segments). */
#define OPMD_SPARE_MAX 1024

/* How a stream fills its RX array. */
enum opmd_rx_mode {
	OPMD_RX_ETHDEV = 0, /* rte_eth_rx_burst from rx_port/rx_queue */
	OPMD_RX_ALLOC = 1,  /* rte_pktmbuf_alloc_bulk from alloc_pool (txonly) */
	OPMD_RX_NONE = 2,   /* receive nothing (flush only) */
	OPMD_RX_RING = 3,   /* rte_ring_dequeue_burst from rx_ring (pipeline mode) */
	OPMD_RX_FD = 4,     /* readv from rx_fd: a TAP with IFF_VNET_HDR */
};

/* Where a stream sends. */
enum opmd_tx_mode {
	OPMD_TX_ETHDEV = 0, /* rte_eth_tx_burst to tx_port/tx_queue */
	OPMD_TX_RING = 1,   /* rte_ring_enqueue_burst to tx_ring (pipeline mode) */
	OPMD_TX_FD = 2,     /* writev to tx_fd: a TAP with IFF_VNET_HDR */
};

/*
 * A TAP with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 puts a virtio_net_hdr
 * (with num_buffers) before every frame. RX reads it into the head mbuf's
 * headroom, right before the frame, where Go decodes it; TX writes the 12
 * bytes before the frame, which Go encoded there (or, for a packet read
 * from a TAP and sent on untouched, the header it came with).
 */
#define OPMD_VNET_HDR_LEN 12
/* Largest frame one read takes: a 64 KiB IP packet and its Ethernet
 * header, as the kernel hands them over with TSO. */
#define OPMD_FD_FRAME_MAX (65535 + 14 + 4)
/* Most mbufs one read fills (2 KiB data rooms). */
#define OPMD_FD_SEGS 40

/*
 * A forwarding stream: RX port/queue to TX port/queue, with its burst
 * arrays in C memory so Go can pass them to DPDK without cgocheck scanning
 * them. One lcore owns a stream; every counter has that lcore as its only
 * writer, and the control plane reads them with 64-bit atomic loads.
 *
 * A poll, in order: frees free[0..nb_free) and rx[rx_tx..rx_tx+rx_free);
 * sends rx[0..rx_tx) and then tx[0..nb_tx) (through rte_eth_tx_prepare when
 * the device does tasks in hardware), freeing and counting what is refused;
 * tops spare[] up to spare_want; receives into rx[0..nb_rx). Engines that only keep or
 * drop packets compact the kept ones to the front of rx[] and send them in
 * place, with no copy; tx[] holds packets an engine creates (segments,
 * generated packets).
 */
struct opmd_stream {
	/* Configuration, written before the owning lcore starts. */
	uint16_t rx_port;
	uint16_t rx_queue;
	uint16_t tx_port;
	uint16_t tx_queue;
	uint16_t burst;      /* RX burst size, 1..OPMD_BURST_MAX */
	uint16_t rx_max;     /* most packets one poll takes: burst * bursts */
	uint16_t rx_mode;    /* enum opmd_rx_mode */
	uint16_t tx_prepare; /* run rte_eth_tx_prepare before sending */
	uint16_t tx_mode;    /* enum opmd_tx_mode */
	uint16_t pad0[3];
	uint32_t tx_retry;   /* extra tx_burst rounds when one makes no progress */
	uint32_t tx_retry_us; /* delay before each retry round */
	struct rte_mempool *alloc_pool; /* OPMD_RX_ALLOC, and spares */
	struct rte_ring *rx_ring;       /* OPMD_RX_RING */
	struct rte_ring *tx_ring;       /* OPMD_TX_RING */

	/* Exchanged with Go at each poll. */
	uint16_t nb_rx;   /* out: packets now in rx[] */
	uint16_t rx_tx;   /* in: send rx[0..rx_tx) first */
	uint16_t rx_free; /* in: free rx[rx_tx..rx_tx+rx_free) */
	uint16_t nb_tx;   /* in: then send tx[0..nb_tx) */
	uint16_t nb_free; /* in: free free[0..nb_free) */
	uint16_t nb_spare;   /* in/out: spare mbufs in spare[] */
	uint16_t spare_want; /* in: refill spare[] up to this many */
	uint16_t direct;     /* in: forward bursts in C (see opmd_group_poll) */
	uint64_t direct_at;  /* in: ... while opmd_epoch equals this */

	/* Counters; one writer (the owning lcore). */
	uint64_t rx_packets;  /* received by rte_eth_rx_burst */
	uint64_t tx_packets;  /* accepted by rte_eth_tx_burst */
	uint64_t tx_dropped;  /* TX leftovers freed (testpmd's fwd_dropped) */
	uint64_t rx_nombuf;   /* OPMD_RX_ALLOC: bulk allocations that failed */
	uint64_t tx_retries;  /* retry rounds taken */
	uint64_t tx_prepare_failed; /* refused by rte_eth_tx_prepare, freed */
	uint64_t spare_nombuf; /* spare refills that failed */
	uint64_t rx_errors;    /* OPMD_RX_FD: reads that failed, short reads */
	uint64_t tx_errors;    /* OPMD_TX_FD: writes the kernel refused */
	uint64_t direct_packets; /* forwarded in C as direct, never seen by Go */

	/* OPMD_RX_FD / OPMD_TX_FD. */
	int32_t rx_fd;
	int32_t tx_fd;
	uint16_t fd_segs;  /* mbufs a read needs to hold OPMD_FD_FRAME_MAX */
	uint16_t nb_fdbuf; /* mbufs in fdbuf[] */
	uint32_t pad2;
	struct rte_mbuf *fdbuf[OPMD_FD_SEGS]; /* the next read's buffers */

	struct rte_mbuf *rx[OPMD_BURST_MAX];
	struct rte_mbuf *tx[OPMD_TX_MAX];
	struct rte_mbuf *free[OPMD_TX_MAX];
	struct rte_mbuf *spare[OPMD_SPARE_MAX];
} __rte_cache_aligned;

/* Frees free[], sends tx[] (freeing and counting leftovers), then receives
 * per rx_mode. Returns nb_rx. */
uint16_t opmd_stream_poll(struct opmd_stream *s);

/* Tops spare[] up to n (at most OPMD_SPARE_MAX) now. Returns 0, or -1 when
 * the pool cannot (spare_nombuf counts it). */
int opmd_stream_refill_spares(struct opmd_stream *s, unsigned n);

/* Frees what a stream holds for reads (OPMD_RX_FD). */
void opmd_stream_release(struct opmd_stream *s);

/* Most streams one lcore runs. */
#define OPMD_GROUP_MAX 64

/*
 * The control plane's change count. Go adds one after every change a
 * direct stream's judgement rests on (a port's table, observation, flow
 * rules), and C compares it with each direct stream's direct_at before
 * each burst, so a change reaches the very next burst.
 */
extern uint64_t opmd_epoch;

/*
 * The streams one lcore owns, polled together: one cgo call per lcore
 * iteration does every stream's frees, sends and receives.
 *
 * Direct streams. A stream whose bursts need nothing from Go (no stage
 * enabled, a pass-through engine, nobody observing) is marked direct by
 * Go with the epoch it judged at. While opmd_epoch still equals that, its
 * bursts go out in place as soon as they arrive, as testpmd's io engine
 * sends them, without Go seeing them (nb_rx reads 0), and the group polls
 * again, up to rounds times per call,
 * until a burst arrives that Go must handle or nothing arrives. A burst
 * received after the epoch moved is handed to Go, which judges again.
 */
struct opmd_group {
	uint32_t n;
	uint32_t rounds;     /* most polls of the streams per call, >= 1 */
	uint64_t polls;      /* rounds polled; one writer, the lcore */
	uint64_t idle_polls; /* rounds in which no stream received */
	uint64_t calls;      /* opmd_group_poll calls (crossings from Go) */
	struct opmd_stream *s[OPMD_GROUP_MAX];
} __rte_cache_aligned;

/* Polls the streams of the group (taken as an integer, so cgo has no
 * pointer to check), one round or more (see direct streams); returns the
 * packets received for Go to handle plus those forwarded directly. */
uint32_t opmd_group_poll(uintptr_t g);

/* Allocates a zeroed stream on socket; NULL and rte_errno on failure. */
struct opmd_stream *opmd_stream_new(int socket);

/* Byte offsets of struct rte_mbuf fields, checked by package pmd at compile
 * time against its Go view of the same layout. */
enum {
	OPMD_MBUF_SIZE = sizeof(struct rte_mbuf),
	OPMD_MBUF_OFF_BUF_ADDR = offsetof(struct rte_mbuf, buf_addr),
	OPMD_MBUF_OFF_BUF_IOVA = offsetof(struct rte_mbuf, buf_iova),
	OPMD_MBUF_OFF_DATA_OFF = offsetof(struct rte_mbuf, data_off),
	OPMD_MBUF_OFF_REFCNT = offsetof(struct rte_mbuf, refcnt),
	OPMD_MBUF_OFF_NB_SEGS = offsetof(struct rte_mbuf, nb_segs),
	OPMD_MBUF_OFF_PORT = offsetof(struct rte_mbuf, port),
	OPMD_MBUF_OFF_OL_FLAGS = offsetof(struct rte_mbuf, ol_flags),
	OPMD_MBUF_OFF_PACKET_TYPE = offsetof(struct rte_mbuf, packet_type),
	OPMD_MBUF_OFF_PKT_LEN = offsetof(struct rte_mbuf, pkt_len),
	OPMD_MBUF_OFF_DATA_LEN = offsetof(struct rte_mbuf, data_len),
	OPMD_MBUF_OFF_VLAN_TCI = offsetof(struct rte_mbuf, vlan_tci),
	OPMD_MBUF_OFF_HASH = offsetof(struct rte_mbuf, hash),
	OPMD_MBUF_OFF_VLAN_TCI_OUTER = offsetof(struct rte_mbuf, vlan_tci_outer),
	OPMD_MBUF_OFF_BUF_LEN = offsetof(struct rte_mbuf, buf_len),
	OPMD_MBUF_OFF_POOL = offsetof(struct rte_mbuf, pool),
	OPMD_MBUF_OFF_NEXT = offsetof(struct rte_mbuf, next),
	OPMD_MBUF_OFF_TX_OFFLOAD = offsetof(struct rte_mbuf, tx_offload),
	OPMD_MBUF_OFF_SHINFO = offsetof(struct rte_mbuf, shinfo),
	OPMD_MBUF_OFF_PRIV_SIZE = offsetof(struct rte_mbuf, priv_size),
	OPMD_MBUF_OFF_TIMESYNC = offsetof(struct rte_mbuf, timesync),
	OPMD_MBUF_OFF_DYNFIELD1 = offsetof(struct rte_mbuf, dynfield1),
};

/* Wrappers for what cgo cannot reach: thread-locals and static inlines. */
static inline int opmd_errno(void) { return rte_errno; }
static inline unsigned opmd_lcore_id(void) { return rte_lcore_id(); }

static inline int
opmd_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **pkts, unsigned n)
{
	return rte_pktmbuf_alloc_bulk(mp, pkts, n);
}

static inline struct rte_mbuf *opmd_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

static inline void opmd_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

static inline uint16_t
opmd_rx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, q, pkts, n);
}

static inline uint16_t
opmd_tx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, q, pkts, n);
}

static inline uint16_t
opmd_tx_prepare(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_prepare(port, q, pkts, n);
}

static inline unsigned
opmd_ring_enqueue_burst(struct rte_ring *r, void **objs, unsigned n)
{
	return rte_ring_enqueue_burst(r, objs, n, NULL);
}

static inline unsigned
opmd_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n)
{
	return rte_ring_dequeue_burst(r, objs, n, NULL);
}

static inline unsigned opmd_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

static inline uint64_t opmd_tx_offload_pack(uint64_t l2, uint64_t l3,
	uint64_t l4, uint64_t tso, uint64_t ol3, uint64_t ol2)
{
	return rte_mbuf_tx_offload(l2, l3, l4, tso, ol3, ol2, 0);
}

static inline uint64_t opmd_tsc_hz(void) { return rte_get_tsc_hz(); }
static inline uint64_t opmd_rdtsc(void) { return rte_rdtsc(); }

/* Pointer-returning calls, with rte_errno captured on the same thread. */
static inline struct rte_mempool *
opmd_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache,
	uint16_t priv, uint16_t room, int socket, int *err)
{
	struct rte_mempool *mp =
		rte_pktmbuf_pool_create(name, n, cache, priv, room, socket);
	*err = mp ? 0 : rte_errno;
	return mp;
}

static inline struct rte_ring *
opmd_ring_create(const char *name, unsigned count, int socket, unsigned flags,
	int *err)
{
	struct rte_ring *r = rte_ring_create(name, count, socket, flags);
	*err = r ? 0 : rte_errno;
	return r;
}

static inline int
opmd_dynfield_register(const char *name, size_t size, size_t align)
{
	struct rte_mbuf_dynfield p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.size = size;
	p.align = align;
	int off = rte_mbuf_dynfield_register(&p);
	return off < 0 ? -rte_errno : off;
}

static inline int
opmd_dynflag_register(const char *name)
{
	struct rte_mbuf_dynflag p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	int bit = rte_mbuf_dynflag_register(&p);
	return bit < 0 ? -rte_errno : bit;
}

static inline int opmd_dynfield_lookup(const char *name)
{
	int off = rte_mbuf_dynfield_lookup(name, NULL);
	return off < 0 ? -rte_errno : off;
}

static inline int opmd_dynflag_lookup(const char *name)
{
	int bit = rte_mbuf_dynflag_lookup(name, NULL);
	return bit < 0 ? -rte_errno : bit;
}

static inline int
opmd_eth_from_rings(const char *name, struct rte_ring **rx, unsigned nrx,
	struct rte_ring **tx, unsigned ntx, unsigned socket)
{
	int id = rte_eth_from_rings(name, rx, nrx, tx, ntx, socket);
	return id < 0 ? -rte_errno : id;
}

/* Ethdev calls whose structs have bitfields cgo cannot reach. */
static inline int
opmd_port_configure(uint16_t port, uint16_t nrxq, uint16_t ntxq,
	uint64_t rx_offloads, uint64_t tx_offloads, uint64_t rss_hf,
	uint32_t mtu, int lsc)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.offloads = rx_offloads;
	conf.txmode.offloads = tx_offloads;
	conf.rxmode.mtu = mtu;
	if (rss_hf) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
	}
	if (lsc) {
		struct rte_eth_dev_info di;
		if (rte_eth_dev_info_get(port, &di) == 0 && di.dev_flags &&
		    (*di.dev_flags & RTE_ETH_DEV_INTR_LSC))
			conf.intr_conf.lsc = 1;
	}
	return rte_eth_dev_configure(port, nrxq, ntxq, &conf);
}

struct opmd_link {
	uint32_t speed;
	uint8_t duplex, autoneg, status;
};

static inline int opmd_link_get(uint16_t port, struct opmd_link *l)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	int rc = rte_eth_link_get_nowait(port, &link);
	l->speed = link.link_speed;
	l->duplex = link.link_duplex;
	l->autoneg = link.link_autoneg;
	l->status = link.link_status;
	return rc;
}

static inline int opmd_dev_probe(const char *devargs)
{
	int rc = rte_dev_probe(devargs);
	return rc < 0 ? rc : 0;
}

/* DPDK's own mbuf manipulators, for package tests that check the Go
 * versions against them. */
static inline char *opmd_ref_prepend(struct rte_mbuf *m, uint16_t n)
{
	return rte_pktmbuf_prepend(m, n);
}
static inline char *opmd_ref_append(struct rte_mbuf *m, uint16_t n)
{
	return rte_pktmbuf_append(m, n);
}
static inline char *opmd_ref_adj(struct rte_mbuf *m, uint16_t n)
{
	return rte_pktmbuf_adj(m, n);
}
static inline int opmd_ref_trim(struct rte_mbuf *m, uint16_t n)
{
	return rte_pktmbuf_trim(m, n);
}
static inline int opmd_ref_chain(struct rte_mbuf *h, struct rte_mbuf *t)
{
	return rte_pktmbuf_chain(h, t);
}
static inline void opmd_ref_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }
static inline uint16_t opmd_ref_l2_len(const struct rte_mbuf *m) { return m->l2_len; }
static inline uint16_t opmd_ref_l3_len(const struct rte_mbuf *m) { return m->l3_len; }
static inline uint16_t opmd_ref_l4_len(const struct rte_mbuf *m) { return m->l4_len; }
static inline uint16_t opmd_ref_tso_segsz(const struct rte_mbuf *m) { return m->tso_segsz; }
static inline uint16_t opmd_ref_outer_l2_len(const struct rte_mbuf *m) { return m->outer_l2_len; }
static inline uint16_t opmd_ref_outer_l3_len(const struct rte_mbuf *m) { return m->outer_l3_len; }
static inline uint32_t opmd_ref_rss(const struct rte_mbuf *m) { return m->hash.rss; }
static inline void *opmd_ref_mtod(const struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
static inline int opmd_ref_is_contiguous(const struct rte_mbuf *m) { return rte_pktmbuf_is_contiguous(m); }

/* Lcore launch: runs the Go function behind handle h on lcore id. */
int opmd_lcore_launch(unsigned lcore, uintptr_t h);

/* Registers a telemetry command answered by package pmd's Go handlers:
 * every command has the same C callback, which hands the command's name
 * to Go. */
int opmd_tel_register(const char *cmd, const char *help);

/*
 * DPDK's log stream into Go: opmd_log_open makes a stream whose writes are
 * cut into lines, each handed to package pmd's opmdLogLine with the level
 * and logtype of the message being written, and makes it DPDK's log
 * stream (rte_openlog_stream, which works before rte_eal_init). Returns 0
 * or a negative errno.
 */
int opmd_log_open(void);

/* Longest line handed to Go in one piece; a longer one is cut. */
#define OPMD_LOG_LINE_MAX 1024

/* rte_log_dump's text (the registered logtypes and their names) in a
 * malloc'd buffer of *len bytes, or NULL. */
char *opmd_log_dump(size_t *len);

/* rte_log for package tests: msg as written, no newline added. */
static inline int opmd_log_test(uint32_t level, uint32_t type, const char *msg)
{
	return rte_log(level, type, "%s", msg);
}

/* rte_eal_init over a NULL-terminated argv held in C memory. */
int opmd_eal_init(int argc, char **argv);

#endif /* OPMD_H */
