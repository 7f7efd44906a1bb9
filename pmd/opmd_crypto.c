/*
 * opmd_crypto.c: cryptodev bursts, sessions, capabilities and vdevs for
 * package pmd (crypto_unsafe.go). See opmd_crypto.h.
 */
#include "opmd_crypto.h"

#include <errno.h>

/*
 * The address of len bytes at offset off of packet m's data, and their
 * IOVA; NULL if they are not in the packet or straddle two segments.
 */
static inline uint8_t *
pkt_at(struct rte_mbuf *m, uint32_t off, uint32_t len, rte_iova_t *iova)
{
	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	if (m == NULL || (uint64_t)off + len > m->data_len)
		return NULL;
	*iova = rte_pktmbuf_iova_offset(m, off);
	return rte_pktmbuf_mtod_offset(m, uint8_t *, off);
}

static inline int
in_pkt(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	return (uint64_t)off + len <= m->pkt_len;
}

/*
 * Fills op from job j; returns 0, or -1 if the job is malformed (then the
 * op is not enqueued).
 */
static inline int
crypto_fill(struct rte_crypto_op *op, const struct opmd_crypto_job *j,
	uint8_t dev)
{
	struct rte_crypto_sym_op *sym = op->sym;
	struct rte_mbuf *m = j->m;
	uint8_t *digest;
	rte_iova_t digest_iova;

	if (unlikely(m == NULL || j->sess == NULL || j->dev != dev ||
		     !in_pkt(m, j->data_off, j->data_len)))
		return -1;
	digest = pkt_at(m, j->digest_off, j->digest_len, &digest_iova);
	if (unlikely(digest == NULL))
		return -1;
	rte_crypto_op_attach_sym_session(op, j->sess);
	sym->m_src = m;
	rte_memcpy(rte_crypto_op_ctod_offset(op, uint8_t *, OPMD_CRYPTO_IV_OFF),
		   j->iv, OPMD_CRYPTO_IV_MAX);
	if (j->kind == OPMD_CRYPTO_AEAD) {
		sym->aead.data.offset = j->data_off;
		sym->aead.data.length = j->data_len;
		sym->aead.digest.data = digest;
		sym->aead.digest.phys_addr = digest_iova;
		rte_memcpy(rte_crypto_op_ctod_offset(op, uint8_t *,
						     OPMD_CRYPTO_AAD_OFF),
			   j->aad, OPMD_CRYPTO_AAD_MAX);
		sym->aead.aad.data =
			rte_crypto_op_ctod_offset(op, uint8_t *, OPMD_CRYPTO_AAD_OFF);
		sym->aead.aad.phys_addr =
			rte_crypto_op_ctophys_offset(op, OPMD_CRYPTO_AAD_OFF);
		return 0;
	}
	if (unlikely(j->kind != OPMD_CRYPTO_CHAIN ||
		     !in_pkt(m, j->auth_off, j->auth_len)))
		return -1;
	sym->cipher.data.offset = j->data_off;
	sym->cipher.data.length = j->data_len;
	sym->auth.data.offset = j->auth_off;
	sym->auth.data.length = j->auth_len;
	sym->auth.digest.data = digest;
	sym->auth.digest.phys_addr = digest_iova;
	return 0;
}

uint16_t
opmd_crypto_run(uintptr_t bp)
{
	struct opmd_crypto_burst *b = (struct opmd_crypto_burst *)bp;
	struct opmd_crypto_job *jobs = b->jobs;
	const uint16_t n = b->n;
	uint16_t i, k = 0, sent = 0, got = 0, ok = 0;
	uint32_t idle = 0;

	b->nb_ok = 0;
	if (n == 0)
		return 0;
	b->runs++;
	if (unlikely(rte_crypto_op_bulk_alloc(b->op_pool,
			RTE_CRYPTO_OP_TYPE_SYMMETRIC, b->ops, n) == 0)) {
		for (i = 0; i < n; i++)
			jobs[i].status = OPMD_CRYPTO_NO_OP;
		b->no_op++;
		b->errors += n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (likely(crypto_fill(b->ops[i], &jobs[i], b->dev_id) == 0)) {
			b->enq[k++] = b->ops[i];
			continue;
		}
		b->ops[i]->status = OPMD_CRYPTO_BAD_JOB;
		b->bad_jobs++;
	}
	/* Software PMDs do the work in dequeue and hand everything back in
	 * one or two rounds; a device that stops making progress is given
	 * spin_max rounds. */
	while (got < k) {
		uint16_t e = 0, d;

		if (sent < k) {
			e = rte_cryptodev_enqueue_burst(b->dev_id, b->qp,
							b->enq + sent, k - sent);
			sent += e;
			if (sent < k)
				b->enq_retries++;
		}
		d = rte_cryptodev_dequeue_burst(b->dev_id, b->qp,
						b->deq + got, k - got);
		got += d;
		if (e == 0 && d == 0 && ++idle > b->spin_max)
			break;
		if (e != 0 || d != 0)
			idle = 0;
	}
	for (i = 0; i < n; i++) {
		uint8_t st = b->ops[i]->status;

		jobs[i].status = st;
		if (likely(st == OPMD_CRYPTO_OK))
			ok++;
		else if (st == OPMD_CRYPTO_AUTH_FAILED)
			b->auth_failed++;
		else if (st != OPMD_CRYPTO_BAD_JOB)
			b->errors++;
	}
	if (likely(got == k)) {
		rte_mempool_put_bulk(b->op_pool, (void **)b->ops, n);
	} else {
		/* The device still holds sent - got ops, which it may yet
		 * write: they stay with it, and their jobs fail. The rest
		 * (returned, never sent, malformed) go back to the pool. */
		uint16_t f = 0;

		for (i = 0; i < n; i++)
			if (jobs[i].status == OPMD_CRYPTO_NOT_PROCESSED)
				jobs[i].status = OPMD_CRYPTO_STUCK;
		b->stuck += sent - got;
		for (i = 0; i < got; i++)
			b->enq[f++] = b->deq[i];
		for (i = sent; i < k; i++)
			b->enq[f++] = b->enq[i];
		for (i = 0; i < n; i++)
			if (jobs[i].status == OPMD_CRYPTO_BAD_JOB)
				b->enq[f++] = b->ops[i];
		rte_mempool_put_bulk(b->op_pool, (void **)b->enq, f);
	}
	b->jobs_ok += ok;
	b->nb_ok = ok;
	return ok;
}

/* Jobs per rte_cryptodev_sym_cpu_crypto_process call (its arrays are on
 * the stack). */
#define OPMD_CRYPTO_CPU_CHUNK 64

/*
 * Where job j's work lies for the CPU crypto API: one contiguous buffer
 * (base, len) covering the regions, their offsets inside it (ofs), and the
 * ICV. Returns 0, or -1 if the job is malformed or its regions are not all
 * in the packet's first segment.
 */
static inline int
cpu_job(const struct opmd_crypto_job *j, uint8_t dev,
	union rte_crypto_sym_ofs *ofs, struct rte_crypto_vec *v,
	struct rte_crypto_va_iova_ptr *digest)
{
	struct rte_mbuf *m = j->m;
	uint64_t lo, hi, d_end = (uint64_t)j->data_off + j->data_len;

	if (unlikely(m == NULL || j->sess == NULL || j->dev != dev ||
		     (uint64_t)j->digest_off + j->digest_len > m->data_len))
		return -1;
	ofs->raw = 0;
	lo = j->data_off;
	hi = d_end;
	if (j->kind == OPMD_CRYPTO_CHAIN) {
		uint64_t a_end = (uint64_t)j->auth_off + j->auth_len;

		lo = RTE_MIN(lo, (uint64_t)j->auth_off);
		hi = RTE_MAX(hi, a_end);
		ofs->ofs.auth.head = j->auth_off - lo;
		ofs->ofs.auth.tail = hi - a_end;
	} else if (unlikely(j->kind != OPMD_CRYPTO_AEAD)) {
		return -1;
	}
	if (unlikely(hi > m->data_len))
		return -1;
	ofs->ofs.cipher.head = j->data_off - lo;
	ofs->ofs.cipher.tail = hi - d_end;
	v->base = rte_pktmbuf_mtod_offset(m, uint8_t *, lo);
	v->iova = rte_pktmbuf_iova_offset(m, lo);
	v->len = hi - lo;
	v->tot_len = hi - lo;
	digest->va = rte_pktmbuf_mtod_offset(m, uint8_t *, j->digest_off);
	digest->iova = rte_pktmbuf_iova_offset(m, j->digest_off);
	return 0;
}

uint16_t
opmd_crypto_run_cpu(uintptr_t bp)
{
	struct opmd_crypto_burst *b = (struct opmd_crypto_burst *)bp;
	struct opmd_crypto_job *jobs = b->jobs;
	const uint16_t n = b->n;
	uint16_t i = 0, ok = 0;

	b->nb_ok = 0;
	if (n == 0)
		return 0;
	b->runs++;
	/* In runs of consecutive jobs of one session and layout: the API
	 * takes one of each per call. */
	while (i < n) {
		struct rte_crypto_vec vec[OPMD_CRYPTO_CPU_CHUNK];
		struct rte_crypto_sgl sgl[OPMD_CRYPTO_CPU_CHUNK];
		struct rte_crypto_va_iova_ptr iv[OPMD_CRYPTO_CPU_CHUNK];
		struct rte_crypto_va_iova_ptr aad[OPMD_CRYPTO_CPU_CHUNK];
		struct rte_crypto_va_iova_ptr dig[OPMD_CRYPTO_CPU_CHUNK];
		int32_t st[OPMD_CRYPTO_CPU_CHUNK];
		uint16_t idx[OPMD_CRYPTO_CPU_CHUNK];
		union rte_crypto_sym_ofs ofs = {.raw = 0}, o;
		struct rte_crypto_sym_vec sv;
		void *sess = NULL;
		uint32_t k = 0, x;

		for (; i < n && k < OPMD_CRYPTO_CPU_CHUNK; i++) {
			struct opmd_crypto_job *j = &jobs[i];

			if (unlikely(cpu_job(j, b->dev_id, &o, &vec[k], &dig[k]) != 0)) {
				j->status = OPMD_CRYPTO_BAD_JOB;
				b->bad_jobs++;
				continue;
			}
			if (k > 0 && (j->sess != sess || o.raw != ofs.raw))
				break; /* the next call's first job */
			sess = j->sess;
			ofs = o;
			sgl[k].vec = &vec[k];
			sgl[k].num = 1;
			iv[k].va = j->iv;
			iv[k].iova = 0;
			aad[k].va = j->aad;
			aad[k].iova = 0;
			st[k] = 0;
			idx[k++] = i;
		}
		if (k == 0)
			continue;
		memset(&sv, 0, sizeof(sv));
		sv.num = k;
		sv.src_sgl = sgl;
		sv.iv = iv;
		sv.digest = dig;
		sv.aad = aad;
		sv.status = st;
		rte_cryptodev_sym_cpu_crypto_process(b->dev_id, sess, ofs, &sv);
		for (x = 0; x < k; x++) {
			struct opmd_crypto_job *j = &jobs[idx[x]];

			if (likely(st[x] == 0)) {
				j->status = OPMD_CRYPTO_OK;
				ok++;
			} else if (st[x] == EBADMSG || st[x] == -EBADMSG) {
				j->status = OPMD_CRYPTO_AUTH_FAILED;
				b->auth_failed++;
			} else {
				j->status = OPMD_CRYPTO_ERROR;
				b->errors++;
			}
		}
	}
	b->jobs_ok += ok;
	b->nb_ok = ok;
	return ok;
}

int
opmd_crypto_vdev(const char *name, const char *args, int *created)
{
	int id = rte_cryptodev_get_dev_id(name);

	*created = 0;
	if (id >= 0)
		return id;
	int rc = rte_vdev_init(name, args);
	if (rc != 0)
		return rc < 0 ? rc : -rc;
	*created = 1;
	id = rte_cryptodev_get_dev_id(name);
	return id >= 0 ? id : -ENODEV;
}

/* The session's transforms, in the order the device applies them. */
static void
sess_xforms(const struct opmd_crypto_sess_conf *c,
	struct rte_crypto_sym_xform *x /* [2] */)
{
	memset(x, 0, 2 * sizeof(*x));
	if (c->kind == OPMD_CRYPTO_AEAD) {
		x[0].type = RTE_CRYPTO_SYM_XFORM_AEAD;
		x[0].aead.op = c->encrypt ? RTE_CRYPTO_AEAD_OP_ENCRYPT :
					    RTE_CRYPTO_AEAD_OP_DECRYPT;
		x[0].aead.algo = c->aead_algo;
		x[0].aead.key.data = c->key;
		x[0].aead.key.length = c->key_len;
		x[0].aead.iv.offset = OPMD_CRYPTO_IV_OFF;
		x[0].aead.iv.length = c->iv_len;
		x[0].aead.digest_length = c->digest_len;
		x[0].aead.aad_length = c->aad_len;
		return;
	}
	struct rte_crypto_sym_xform *ci, *au;
	/* Encrypt then MAC (RFC 4303 §3.3.2); on the way in, check the ICV
	 * before decrypting (§3.4.4). */
	if (c->encrypt) {
		ci = &x[0];
		au = &x[1];
	} else {
		au = &x[0];
		ci = &x[1];
	}
	x[0].next = &x[1];
	ci->type = RTE_CRYPTO_SYM_XFORM_CIPHER;
	ci->cipher.op = c->encrypt ? RTE_CRYPTO_CIPHER_OP_ENCRYPT :
				     RTE_CRYPTO_CIPHER_OP_DECRYPT;
	ci->cipher.algo = c->cipher_algo;
	ci->cipher.key.data = c->key;
	ci->cipher.key.length = c->key_len;
	ci->cipher.iv.offset = OPMD_CRYPTO_IV_OFF;
	ci->cipher.iv.length = c->iv_len;
	au->type = RTE_CRYPTO_SYM_XFORM_AUTH;
	au->auth.op = c->encrypt ? RTE_CRYPTO_AUTH_OP_GENERATE :
				   RTE_CRYPTO_AUTH_OP_VERIFY;
	au->auth.algo = c->auth_algo;
	au->auth.key.data = c->auth_key;
	au->auth.key.length = c->auth_key_len;
	au->auth.digest_length = c->digest_len;
}

void *
opmd_crypto_session(uint8_t dev, struct rte_mempool *mp,
	const struct opmd_crypto_sess_conf *c, int *err)
{
	struct rte_crypto_sym_xform x[2];
	void *s;

	sess_xforms(c, x);
	s = rte_cryptodev_sym_session_create(dev, &x[0], mp);
	*err = s ? 0 : (rte_errno ? rte_errno : EINVAL);
	/* The xforms point at c's keys; the PMD has its own copy now. */
	return s;
}

int
opmd_crypto_check(uint8_t dev, const struct opmd_crypto_sess_conf *c,
	int *what)
{
	struct rte_cryptodev_sym_capability_idx idx;
	const struct rte_cryptodev_symmetric_capability *cap;

	memset(&idx, 0, sizeof(idx));
	if (c->kind == OPMD_CRYPTO_AEAD) {
		idx.type = RTE_CRYPTO_SYM_XFORM_AEAD;
		idx.algo.aead = c->aead_algo;
		*what = 1;
		if ((cap = rte_cryptodev_sym_capability_get(dev, &idx)) == NULL)
			return -ENOTSUP;
		*what = 2;
		if (rte_cryptodev_sym_capability_check_aead(cap, c->key_len,
				c->digest_len, c->aad_len, c->iv_len) != 0)
			return -ENOTSUP;
		*what = 0;
		return 0;
	}
	idx.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
	idx.algo.cipher = c->cipher_algo;
	*what = 3;
	if ((cap = rte_cryptodev_sym_capability_get(dev, &idx)) == NULL)
		return -ENOTSUP;
	*what = 4;
	if (rte_cryptodev_sym_capability_check_cipher(cap, c->key_len,
						      c->iv_len) != 0)
		return -ENOTSUP;
	idx.type = RTE_CRYPTO_SYM_XFORM_AUTH;
	idx.algo.auth = c->auth_algo;
	*what = 5;
	if ((cap = rte_cryptodev_sym_capability_get(dev, &idx)) == NULL)
		return -ENOTSUP;
	*what = 6;
	if (rte_cryptodev_sym_capability_check_auth(cap, c->auth_key_len,
						    c->digest_len, 0) != 0)
		return -ENOTSUP;
	*what = 0;
	return 0;
}

static inline struct opmd_crypto_range
range(const struct rte_crypto_param_range *r)
{
	return (struct opmd_crypto_range){r->min, r->max, r->increment};
}

int
opmd_crypto_caps(uint8_t dev, struct opmd_crypto_cap *out, int max)
{
	struct rte_cryptodev_info info;
	const struct rte_cryptodev_capabilities *c;
	int n = 0;

	memset(&info, 0, sizeof(info));
	rte_cryptodev_info_get(dev, &info);
	if (info.capabilities == NULL)
		return 0;
	/* The algorithm name arrays' sizes are not in the headers: they end
	 * at the last enumerator 22.11 defines. */
	for (c = info.capabilities; c->op != RTE_CRYPTO_OP_TYPE_UNDEFINED; c++) {
		const struct rte_cryptodev_symmetric_capability *s = &c->sym;
		struct opmd_crypto_cap *o;

		if (c->op != RTE_CRYPTO_OP_TYPE_SYMMETRIC)
			continue;
		if (n >= max) {
			n++;
			continue;
		}
		o = &out[n++];
		memset(o, 0, sizeof(*o));
		o->xform = s->xform_type;
		switch (s->xform_type) {
		case RTE_CRYPTO_SYM_XFORM_AEAD:
			o->algo = s->aead.algo;
			o->block_size = s->aead.block_size;
			o->key = range(&s->aead.key_size);
			o->digest = range(&s->aead.digest_size);
			o->aad = range(&s->aead.aad_size);
			o->iv = range(&s->aead.iv_size);
			if (s->aead.algo < (int)RTE_CRYPTO_AEAD_CHACHA20_POLY1305 + 1)
				o->name = rte_crypto_aead_algorithm_strings[s->aead.algo];
			break;
		case RTE_CRYPTO_SYM_XFORM_CIPHER:
			o->algo = s->cipher.algo;
			o->block_size = s->cipher.block_size;
			o->key = range(&s->cipher.key_size);
			o->iv = range(&s->cipher.iv_size);
			if (s->cipher.algo < (int)RTE_CRYPTO_CIPHER_SM4_CTR + 1)
				o->name = rte_crypto_cipher_algorithm_strings[s->cipher.algo];
			break;
		case RTE_CRYPTO_SYM_XFORM_AUTH:
			o->algo = s->auth.algo;
			o->block_size = s->auth.block_size;
			o->key = range(&s->auth.key_size);
			o->digest = range(&s->auth.digest_size);
			o->aad = range(&s->auth.aad_size);
			o->iv = range(&s->auth.iv_size);
			if (s->auth.algo < (int)RTE_CRYPTO_AUTH_SM3 + 1)
				o->name = rte_crypto_auth_algorithm_strings[s->auth.algo];
			break;
		default:
			break;
		}
	}
	return n;
}

struct rte_mempool *
opmd_crypto_op_pool(const char *name, unsigned n, unsigned cache, int socket,
	int *err)
{
	struct rte_mempool *mp = rte_crypto_op_pool_create(name,
		RTE_CRYPTO_OP_TYPE_SYMMETRIC, n, cache, OPMD_CRYPTO_PRIV_SIZE,
		socket);
	*err = mp ? 0 : rte_errno;
	return mp;
}

struct rte_mempool *
opmd_crypto_sess_pool(const char *name, unsigned n, unsigned elt_size,
	unsigned cache, int socket, int *err)
{
	struct rte_mempool *mp = rte_cryptodev_sym_session_pool_create(name, n,
		elt_size, cache, 0, socket);
	*err = mp ? 0 : rte_errno;
	return mp;
}
