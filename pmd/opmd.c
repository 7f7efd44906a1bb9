/*
 * opmd.c: the C functions of package pmd that are worth a real call frame:
 * the per-burst stream poll, EAL init, the lcore and telemetry
 * trampolines, and DPDK's log stream.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie, open_memstream */
#endif
#include "opmd.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "_cgo_export.h"

struct opmd_stream *
opmd_stream_new(int socket)
{
	return rte_zmalloc_socket("opmd_stream", sizeof(struct opmd_stream),
				  RTE_CACHE_LINE_SIZE, socket);
}

/*
 * Sends pkts[0..n). tx_burst may take fewer than offered even with room
 * left (some PMDs cap one call), so keep calling while it makes progress;
 * when a call takes nothing, wait and retry up to tx_retry rounds. What is
 * left is freed and counted: every mbuf has one fate.
 */
/*
 * Runs rte_eth_tx_prepare over pkts[0..n): a packet it refuses is freed and
 * counted, and the ones after it are prepared in turn. Returns how many
 * remain, compacted to the front.
 */
static inline uint16_t
stream_prepare(struct opmd_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t ok = 0;

	while (ok < n) {
		uint16_t k = rte_eth_tx_prepare(s->tx_port, s->tx_queue,
						&pkts[ok], n - ok);
		ok += k;
		if (ok == n)
			break;
		/* pkts[ok] is refused: free it and close the gap. */
		rte_pktmbuf_free(pkts[ok]);
		s->tx_prepare_failed++;
		memmove(&pkts[ok], &pkts[ok + 1], (n - ok - 1) * sizeof(pkts[0]));
		n--;
	}
	return n;
}

/*
 * Writes pkts[0..n) to tx_fd, each with the virtio_net_hdr in the 12 bytes
 * before its data, and frees them: the kernel has copied what it took. A
 * full socket queue (EAGAIN) drops the rest of the burst, counted as TX
 * drops like a full TX ring; a packet the kernel refuses (a header that
 * does not describe its frame: EINVAL) is dropped and counted as an error.
 */
static void
stream_send_fd(struct opmd_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	static const uint8_t zero_hdr[OPMD_VNET_HDR_LEN];
	struct iovec iov[RTE_MBUF_MAX_NB_SEGS + 1];
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *seg;
		int k = 1;
		ssize_t r;

		if (m->data_off >= OPMD_VNET_HDR_LEN)
			iov[0].iov_base = rte_pktmbuf_mtod_offset(m, uint8_t *, -OPMD_VNET_HDR_LEN);
		else
			iov[0].iov_base = (void *)zero_hdr;
		iov[0].iov_len = OPMD_VNET_HDR_LEN;
		for (seg = m; seg != NULL && k < (int)RTE_DIM(iov); seg = seg->next, k++) {
			iov[k].iov_base = rte_pktmbuf_mtod(seg, void *);
			iov[k].iov_len = seg->data_len;
		}
		do
			r = writev(s->tx_fd, iov, k);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0)
			s->tx_errors++;
		else
			s->tx_packets++;
	}
	if (unlikely(i < n))
		s->tx_dropped += n - i;
	rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * Reads up to burst frames from rx_fd into mbuf chains: the header into
 * the head's headroom, the frame across as many mbufs as it fills. The
 * buffers of the next read are kept in fdbuf[]; a read takes the ones it
 * filled and the next poll tops them up.
 */
static uint16_t
stream_rx_fd(struct opmd_stream *s)
{
	struct iovec iov[OPMD_FD_SEGS];
	uint16_t n = 0, need = s->fd_segs;

	while (n < s->burst) {
		uint32_t left;
		uint16_t k;
		ssize_t r;

		if (s->nb_fdbuf < need) {
			if (rte_pktmbuf_alloc_bulk(s->alloc_pool, &s->fdbuf[s->nb_fdbuf],
						   need - s->nb_fdbuf) != 0) {
				s->rx_nombuf++;
				break;
			}
			s->nb_fdbuf = need;
		}
		for (k = 0; k < need; k++) {
			struct rte_mbuf *m = s->fdbuf[k];
			if (k == 0) {
				m->data_off = RTE_PKTMBUF_HEADROOM;
				iov[k].iov_base = rte_pktmbuf_mtod_offset(m, uint8_t *, -OPMD_VNET_HDR_LEN);
				iov[k].iov_len = OPMD_VNET_HDR_LEN + m->buf_len - m->data_off;
			} else {
				m->data_off = 0;
				iov[k].iov_base = m->buf_addr;
				iov[k].iov_len = m->buf_len;
			}
		}
		do
			r = readv(s->rx_fd, iov, need);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				s->rx_errors++;
			break;
		}
		if (r <= OPMD_VNET_HDR_LEN) {
			/* 0: the device went away; shorter: not a frame. */
			s->rx_errors++;
			if (r == 0)
				break;
			continue;
		}
		left = (uint32_t)r - OPMD_VNET_HDR_LEN;
		struct rte_mbuf *head = s->fdbuf[0], *prev = NULL;
		head->pkt_len = left;
		for (k = 0; left > 0; k++) {
			struct rte_mbuf *m = s->fdbuf[k];
			uint32_t room = iov[k].iov_len - (k == 0 ? OPMD_VNET_HDR_LEN : 0);
			m->data_len = (uint16_t)RTE_MIN(left, room);
			left -= m->data_len;
			m->next = NULL;
			if (prev != NULL)
				prev->next = m;
			prev = m;
		}
		head->nb_segs = k;
		head->port = s->rx_port;
		head->ol_flags = 0;
		head->packet_type = 0;
		memmove(s->fdbuf, &s->fdbuf[k], (s->nb_fdbuf - k) * sizeof(s->fdbuf[0]));
		s->nb_fdbuf -= k;
		s->rx[n++] = head;
	}
	s->rx_packets += n;
	return n;
}

void
opmd_stream_release(struct opmd_stream *s)
{
	if (s->nb_fdbuf) {
		rte_pktmbuf_free_bulk(s->fdbuf, s->nb_fdbuf);
		s->nb_fdbuf = 0;
	}
}

static inline void
stream_send(struct opmd_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i = 0, sent = 0;
	uint32_t retries = 0;
	bool skipped = false;

	if (s->tx_mode == OPMD_TX_FD) {
		stream_send_fd(s, pkts, n);
		return;
	}
	if (s->tx_prepare && s->tx_mode == OPMD_TX_ETHDEV)
		n = stream_prepare(s, pkts, n);
	while (i < n) {
		uint16_t k;
		if (s->tx_mode == OPMD_TX_RING)
			k = rte_ring_enqueue_burst(s->tx_ring, (void **)&pkts[i],
						   n - i, NULL);
		else
			k = rte_eth_tx_burst(s->tx_port, s->tx_queue,
					     &pkts[i], n - i);
		if (k) {
			i += k;
			sent += k;
			skipped = false;
			continue;
		}
		if (retries < s->tx_retry) {
			retries++;
			if (s->tx_retry_us)
				rte_delay_us(s->tx_retry_us);
			continue;
		}
		if (skipped || s->tx_mode != OPMD_TX_ETHDEV)
			break;
		/*
		 * No progress: the queue may be full, or the driver may refuse
		 * the head packet itself and stop there (net_tap does, for a
		 * packet it cannot segment, counting an output error). Drop
		 * the head and try the rest once more, so one bad packet does
		 * not take the burst with it; a full queue drops the rest at
		 * the next pass, as before.
		 */
		rte_pktmbuf_free(pkts[i]);
		s->tx_dropped++;
		i++;
		skipped = true;
	}
	s->tx_retries += retries;
	s->tx_packets += sent;
	if (unlikely(i < n)) {
		s->tx_dropped += n - i;
		rte_pktmbuf_free_bulk(&pkts[i], n - i);
	}
}

static inline uint16_t
stream_poll(struct opmd_stream *s)
{
	uint16_t n = 0;

	if (unlikely(s->nb_free)) {
		rte_pktmbuf_free_bulk(s->free, s->nb_free);
		s->nb_free = 0;
	}
	if (unlikely(s->rx_free)) {
		rte_pktmbuf_free_bulk(&s->rx[s->rx_tx], s->rx_free);
		s->rx_free = 0;
	}
	if (s->rx_tx) {
		stream_send(s, s->rx, s->rx_tx);
		s->rx_tx = 0;
	}
	if (s->nb_tx) {
		stream_send(s, s->tx, s->nb_tx);
		s->nb_tx = 0;
	}
	if (unlikely(s->spare_want > s->nb_spare)) {
		uint16_t k = s->spare_want - s->nb_spare;
		if (rte_pktmbuf_alloc_bulk(s->alloc_pool, &s->spare[s->nb_spare], k) == 0)
			s->nb_spare += k;
		else
			s->spare_nombuf++;
	}

	switch (s->rx_mode) {
	case OPMD_RX_ETHDEV: {
		/* Take further bursts while the queue keeps giving full ones:
		 * under load one crossing from Go carries several bursts. */
		uint16_t k;
		do {
			k = rte_eth_rx_burst(s->rx_port, s->rx_queue, &s->rx[n],
					     s->burst);
			n += k;
		} while (k == s->burst && n + s->burst <= s->rx_max);
		s->rx_packets += n;
		break;
	}
	case OPMD_RX_RING:
		n = rte_ring_dequeue_burst(s->rx_ring, (void **)s->rx, s->burst, NULL);
		s->rx_packets += n;
		break;
	case OPMD_RX_FD:
		n = stream_rx_fd(s);
		break;
	case OPMD_RX_ALLOC:
		if (rte_pktmbuf_alloc_bulk(s->alloc_pool, s->rx, s->burst) == 0)
			n = s->burst;
		else
			s->rx_nombuf++;
		break;
	default:
		break;
	}
	s->nb_rx = n;
	return n;
}

uint16_t
opmd_stream_poll(struct opmd_stream *s)
{
	return stream_poll(s);
}

uint32_t
opmd_group_poll(uintptr_t gp)
{
	struct opmd_group *g = (struct opmd_group *)gp;
	uint32_t total = 0, round = 0;

	g->calls++;
	for (;;) {
		uint64_t epoch = __atomic_load_n(&opmd_epoch, __ATOMIC_ACQUIRE);
		uint32_t got = 0, for_go = 0;

		for (uint32_t i = 0; i < g->n; i++) {
			struct opmd_stream *s = g->s[i];
			uint16_t k = stream_poll(s);

			got += k;
			if (k == 0)
				continue;
			if (s->direct && s->direct_at == epoch) {
				/* Back out at once, as testpmd does: the burst's
				 * mbufs are still in L1 and go back to the pool
				 * cache before the next stream takes from it. */
				stream_send(s, s->rx, k);
				s->nb_rx = 0;
				s->direct_packets += k;
			} else {
				s->direct = 0;
				for_go += k;
			}
		}
		g->polls++;
		total += got;
		if (got == 0) {
			g->idle_polls++;
			break;
		}
		if (for_go || ++round >= g->rounds)
			break;
	}
	return total;
}

uint64_t opmd_epoch __rte_cache_aligned;

static int
lcore_trampoline(void *arg)
{
	return opmdLcoreMain((uintptr_t)arg);
}

int
opmd_lcore_launch(unsigned lcore, uintptr_t h)
{
	return rte_eal_remote_launch(lcore_trampoline, (void *)h, lcore);
}

static int
telemetry_trampoline(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	return opmdTelemetry((char *)cmd, (char *)params, d);
}

int
opmd_tel_register(const char *cmd, const char *help)
{
	return rte_telemetry_register_cmd(cmd, telemetry_trampoline, help);
}

int
opmd_eal_init(int argc, char **argv)
{
	return rte_eal_init(argc, argv);
}

/*
 * DPDK's log stream. rte_vlog records the message's level and logtype in
 * thread-locals (rte_log_cur_msg_*), then vfprintf's and fflush'es the
 * stream on the logging thread. The stream is unbuffered, so each write
 * carries only the calling thread's bytes, and each thread assembles its
 * own line: a message written in pieces (several rte_log calls, or one
 * vfprintf glibc cuts) becomes one line, and threads logging at once never
 * mix, with no lock of ours. A line takes the level and logtype of its
 * first piece.
 */
struct log_line {
	int level;
	int type;
	size_t len;
	char buf[OPMD_LOG_LINE_MAX];
};

static __thread struct log_line log_line;

static void
log_emit(struct log_line *l)
{
	opmdLogLine(l->level, l->type, l->buf, (int)l->len);
	l->len = 0;
}

static ssize_t
log_write(void *cookie, const char *p, size_t n)
{
	struct log_line *l = &log_line;
	size_t i = 0;

	RTE_SET_USED(cookie);
	while (i < n) {
		if (l->len == 0) {
			l->level = rte_log_cur_msg_loglevel();
			l->type = rte_log_cur_msg_logtype();
		}
		const char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : n - i;
		size_t room = sizeof(l->buf) - l->len;
		if (take > room) {
			/* Too long for one record: hand over what fits. */
			memcpy(l->buf + l->len, p + i, room);
			l->len += room;
			i += room;
			log_emit(l);
			continue;
		}
		memcpy(l->buf + l->len, p + i, take);
		l->len += take;
		i += take;
		if (nl) {
			i++; /* the newline itself */
			log_emit(l);
		}
	}
	return (ssize_t)n;
}

int
opmd_log_open(void)
{
	static FILE *stream; /* one per process, never closed */

	if (stream == NULL) {
		cookie_io_functions_t io = { .write = log_write };
		FILE *f = fopencookie(NULL, "w", io);
		if (f == NULL)
			return -errno;
		if (setvbuf(f, NULL, _IONBF, 0) != 0) {
			fclose(f);
			return -EINVAL;
		}
		stream = f;
	}
	return rte_openlog_stream(stream);
}

char *
opmd_log_dump(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		return NULL;
	rte_log_dump(f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}



int
opmd_stream_refill_spares(struct opmd_stream *s, unsigned n)
{
	if (n > OPMD_SPARE_MAX)
		n = OPMD_SPARE_MAX;
	if (s->nb_spare >= n)
		return 0;
	if (rte_pktmbuf_alloc_bulk(s->alloc_pool, &s->spare[s->nb_spare], n - s->nb_spare) != 0) {
		s->spare_nombuf++;
		return -1;
	}
	s->nb_spare = n;
	return 0;
}
