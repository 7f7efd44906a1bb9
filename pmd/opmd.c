/*
 * opmd.c: the C functions of package pmd that are worth a real call frame:
 * the per-burst stream poll, EAL init, and the lcore trampoline.
 */
#include "opmd.h"

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
static inline void
stream_send(struct opmd_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0;
	uint32_t retries = 0;

	while (sent < n) {
		uint16_t k = rte_eth_tx_burst(s->tx_port, s->tx_queue,
					      &pkts[sent], n - sent);
		if (k) {
			sent += k;
			continue;
		}
		if (retries == s->tx_retry)
			break;
		retries++;
		if (s->tx_retry_us)
			rte_delay_us(s->tx_retry_us);
	}
	s->tx_retries += retries;
	s->tx_packets += sent;
	if (unlikely(sent < n)) {
		s->tx_dropped += n - sent;
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
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
	uint32_t total = 0;

	for (uint32_t i = 0; i < g->n; i++)
		total += stream_poll(g->s[i]);
	g->polls++;
	if (total == 0)
		g->idle_polls++;
	return total;
}

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

int
opmd_eal_init(int argc, char **argv)
{
	return rte_eal_init(argc, argv);
}


