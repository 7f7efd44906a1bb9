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
 * Sends tx[0..nb_tx). tx_burst may take fewer than offered even with room
 * left (some PMDs cap one call), so keep calling while it makes progress;
 * when a call takes nothing, wait and retry up to tx_retry rounds. What is
 * left is freed and counted: every mbuf has one fate.
 */
static inline void
stream_send(struct opmd_stream *s)
{
	uint16_t n = s->nb_tx, sent = 0;
	uint32_t retries = 0;

	while (sent < n) {
		uint16_t k = rte_eth_tx_burst(s->tx_port, s->tx_queue,
					      &s->tx[sent], n - sent);
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
		rte_pktmbuf_free_bulk(&s->tx[sent], n - sent);
	}
	s->nb_tx = 0;
}

uint16_t
opmd_stream_poll(struct opmd_stream *s)
{
	uint16_t n = 0;

	s->polls++;
	if (s->nb_free) {
		rte_pktmbuf_free_bulk(s->free, s->nb_free);
		s->nb_free = 0;
	}
	if (s->nb_tx)
		stream_send(s);

	switch (s->rx_mode) {
	case OPMD_RX_ETHDEV:
		n = rte_eth_rx_burst(s->rx_port, s->rx_queue, s->rx, s->burst);
		s->rx_packets += n;
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
	if (n == 0)
		s->idle_polls++;
	s->nb_rx = n;
	return n;
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
