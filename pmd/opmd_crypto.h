/*
 * opmd_crypto.h: the C half of package pmd's cryptodev bindings
 * (crypto_unsafe.go).
 *
 * A crypto device is used through bursts of jobs: Go fills a job per packet
 * (packet, session, regions, IV and AAD bytes, ICV offset) in a struct
 * opmd_crypto_burst held in C memory, and opmd_crypto_run does the rest in
 * one call: ops allocated in bulk, filled, enqueued, dequeued until all are
 * back, each job's status written back, ops freed in bulk.
 *
 * Kept apart from opmd.h/opmd.c so the crypto side is reviewed (and
 * edited) on its own; it includes opmd.h for the shared DPDK headers.
 */
#ifndef OPMD_CRYPTO_H
#define OPMD_CRYPTO_H

#include "opmd.h"

#include <rte_bus_vdev.h>
#include <rte_crypto.h>
#include <rte_cryptodev.h>

/* Most jobs one run takes: a whole stream burst (OPMD_BURST_MAX). */
#define OPMD_CRYPTO_BURST_MAX 512
/* IV and AAD bytes a job carries; the session says how many are used. */
#define OPMD_CRYPTO_IV_MAX 16
#define OPMD_CRYPTO_AAD_MAX 32
/* Largest keys a session takes: AES-256, and an HMAC key of one SHA-256
 * block (longer keys are hashed first by HMAC's definition). */
#define OPMD_CRYPTO_KEY_MAX 32
#define OPMD_CRYPTO_AUTH_KEY_MAX 64

/*
 * Where an op's IV and AAD live: in the op's private area, right after the
 * symmetric op (DPDK's convention, as in its examples and test apps). The
 * AAD follows the IV; GCM PMDs may read the AAD buffer rounded up to 16
 * bytes, so OPMD_CRYPTO_AAD_MAX is a multiple of 16 (ESP needs 8 or 12;
 * 32 also takes the GCM spec's 20-byte test AAD).
 */
#define OPMD_CRYPTO_IV_OFF \
	(sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define OPMD_CRYPTO_AAD_OFF (OPMD_CRYPTO_IV_OFF + OPMD_CRYPTO_IV_MAX)
#define OPMD_CRYPTO_PRIV_SIZE (OPMD_CRYPTO_IV_MAX + OPMD_CRYPTO_AAD_MAX)

/* What a session does; a job carries its session's kind. */
enum opmd_crypto_kind {
	OPMD_CRYPTO_AEAD = 1,  /* one AEAD transform (AES-GCM) */
	OPMD_CRYPTO_CHAIN = 2, /* cipher + auth (AES-CBC, HMAC-SHA-256) */
};

/*
 * A job's status after a run: DPDK's rte_crypto_op_status values, and ours
 * for jobs that never reached the device.
 */
enum opmd_crypto_status {
	OPMD_CRYPTO_OK = RTE_CRYPTO_OP_STATUS_SUCCESS,
	OPMD_CRYPTO_NOT_PROCESSED = RTE_CRYPTO_OP_STATUS_NOT_PROCESSED,
	OPMD_CRYPTO_AUTH_FAILED = RTE_CRYPTO_OP_STATUS_AUTH_FAILED,
	OPMD_CRYPTO_INVALID_SESSION = RTE_CRYPTO_OP_STATUS_INVALID_SESSION,
	OPMD_CRYPTO_INVALID_ARGS = RTE_CRYPTO_OP_STATUS_INVALID_ARGS,
	OPMD_CRYPTO_ERROR = RTE_CRYPTO_OP_STATUS_ERROR,
	OPMD_CRYPTO_NO_OP = 16,   /* the op pool was empty */
	OPMD_CRYPTO_BAD_JOB = 17, /* no packet, no session or another device's,
				     or a region or the ICV outside the packet */
	OPMD_CRYPTO_STUCK = 18,   /* the device did not complete it in time */
};

/*
 * One packet's crypto work, filled by Go (which views this layout as
 * pmd.CryptoJob). Offsets count from the start of the packet's data
 * (rte_pktmbuf_mtod), across segments. The packet is processed in place.
 */
struct opmd_crypto_job {
	struct rte_mbuf *m; /* the packet */
	void *sess;         /* a session of the burst's device */
	uint32_t data_off;  /* AEAD: the region encrypted or decrypted (and
			       authenticated after the AAD); chain: the
			       region ciphered */
	uint32_t data_len;
	uint32_t auth_off;  /* chain: the region authenticated; AEAD: unused */
	uint32_t auth_len;
	uint32_t digest_off; /* the ICV: written (encrypt) or checked (decrypt) */
	uint8_t kind;        /* enum opmd_crypto_kind, from the session */
	uint8_t digest_len;  /* from the session */
	uint8_t status;      /* out: enum opmd_crypto_status */
	uint8_t dev;         /* the session's device, checked against the burst's */
	uint8_t iv[OPMD_CRYPTO_IV_MAX];   /* copied into the op */
	uint8_t aad[OPMD_CRYPTO_AAD_MAX]; /* AEAD: copied into the op */
};

/*
 * A burst: the jobs of one run on one queue pair, with the run's op arrays
 * and counters. One lcore owns it; the counters have that lcore as their
 * only writer and are read with 64-bit atomic loads.
 */
struct opmd_crypto_burst {
	uint8_t dev_id;
	uint8_t pad0;
	uint16_t qp;
	uint16_t n;     /* in: jobs[0..n) to run */
	uint16_t nb_ok; /* out: jobs that ended OPMD_CRYPTO_OK */
	uint32_t spin_max; /* dequeue rounds without progress before giving up */
	uint32_t pad1;
	struct rte_mempool *op_pool;

	uint64_t runs;        /* opmd_crypto_run calls with n > 0 */
	uint64_t jobs_ok;
	uint64_t auth_failed;
	uint64_t errors;      /* jobs ending in any other status */
	uint64_t no_op;       /* runs whose op allocation failed */
	uint64_t bad_jobs;
	uint64_t enq_retries; /* enqueue calls that took less than offered */
	uint64_t stuck;       /* ops left with the device (not freed) */

	struct rte_crypto_op *ops[OPMD_CRYPTO_BURST_MAX]; /* ops[i] is job i's */
	struct rte_crypto_op *enq[OPMD_CRYPTO_BURST_MAX];
	struct rte_crypto_op *deq[OPMD_CRYPTO_BURST_MAX];
	struct opmd_crypto_job jobs[OPMD_CRYPTO_BURST_MAX];
} __rte_cache_aligned;

/* Runs jobs[0..n) of the burst (given as an integer, so cgo has no pointer
 * to check) and returns nb_ok; every job's status is set. */
uint16_t opmd_crypto_run(uintptr_t b);

/* The same through the device's synchronous CPU crypto API
 * (rte_cryptodev_sym_cpu_crypto_process, RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO):
 * no ops, no queue pair. A job's regions and ICV must lie in its packet's
 * first segment (OPMD_CRYPTO_BAD_JOB otherwise). */
uint16_t opmd_crypto_run_cpu(uintptr_t b);

/* Finds the crypto device called name, or creates it as a vdev with args
 * (rte_vdev_init). Returns its id, or a negative errno. */
int opmd_crypto_vdev(const char *name, const char *args, int *created);

/* A session's parameters, flattened for cgo (the xforms are unions). */
struct opmd_crypto_sess_conf {
	uint8_t kind;       /* enum opmd_crypto_kind */
	uint8_t encrypt;    /* 1: encrypt (+ generate); 0: (verify +) decrypt */
	uint16_t key_len;
	uint16_t auth_key_len;
	uint16_t iv_len;
	uint16_t digest_len;
	uint16_t aad_len;
	int32_t aead_algo;  /* enum rte_crypto_aead_algorithm */
	int32_t cipher_algo; /* enum rte_crypto_cipher_algorithm */
	int32_t auth_algo;  /* enum rte_crypto_auth_algorithm */
	uint8_t key[OPMD_CRYPTO_KEY_MAX];
	uint8_t auth_key[OPMD_CRYPTO_AUTH_KEY_MAX];
};

/* Creates a session from c on device dev, from pool mp. NULL and *err (a
 * positive errno) on failure. */
void *opmd_crypto_session(uint8_t dev, struct rte_mempool *mp,
	const struct opmd_crypto_sess_conf *c, int *err);

/* Checks c against the device's capabilities: 0, or -ENOTSUP with *what
 * saying which part (1 AEAD algorithm, 2 AEAD sizes, 3 cipher algorithm,
 * 4 cipher sizes, 5 auth algorithm, 6 auth sizes). */
int opmd_crypto_check(uint8_t dev, const struct opmd_crypto_sess_conf *c,
	int *what);

/* A range of sizes: min..max in steps of inc (0: only min). */
struct opmd_crypto_range {
	uint16_t min, max, inc;
};

/* One symmetric capability, flattened. */
struct opmd_crypto_cap {
	int32_t xform; /* enum rte_crypto_sym_xform_type */
	int32_t algo;  /* the xform type's algorithm enum */
	uint16_t block_size;
	struct opmd_crypto_range key, digest, aad, iv;
	const char *name; /* DPDK's name for the algorithm, or NULL */
};

/* Writes up to max of the device's symmetric capabilities to out and
 * returns how many it has. */
int opmd_crypto_caps(uint8_t dev, struct opmd_crypto_cap *out, int max);

/* Op and session pools, with rte_errno captured on the same thread. */
struct rte_mempool *opmd_crypto_op_pool(const char *name, unsigned n,
	unsigned cache, int socket, int *err);
struct rte_mempool *opmd_crypto_sess_pool(const char *name, unsigned n,
	unsigned elt_size, unsigned cache, int socket, int *err);

/* Byte offsets of struct opmd_crypto_job, checked by package pmd at compile
 * time against its Go view (CryptoJob). */
enum {
	OPMD_CRYPTO_JOB_SIZE = sizeof(struct opmd_crypto_job),
	OPMD_CRYPTO_JOB_OFF_SESS = offsetof(struct opmd_crypto_job, sess),
	OPMD_CRYPTO_JOB_OFF_DATA_OFF = offsetof(struct opmd_crypto_job, data_off),
	OPMD_CRYPTO_JOB_OFF_DATA_LEN = offsetof(struct opmd_crypto_job, data_len),
	OPMD_CRYPTO_JOB_OFF_AUTH_OFF = offsetof(struct opmd_crypto_job, auth_off),
	OPMD_CRYPTO_JOB_OFF_AUTH_LEN = offsetof(struct opmd_crypto_job, auth_len),
	OPMD_CRYPTO_JOB_OFF_DIGEST_OFF = offsetof(struct opmd_crypto_job, digest_off),
	OPMD_CRYPTO_JOB_OFF_KIND = offsetof(struct opmd_crypto_job, kind),
	OPMD_CRYPTO_JOB_OFF_DIGEST_LEN = offsetof(struct opmd_crypto_job, digest_len),
	OPMD_CRYPTO_JOB_OFF_STATUS = offsetof(struct opmd_crypto_job, status),
	OPMD_CRYPTO_JOB_OFF_DEV = offsetof(struct opmd_crypto_job, dev),
	OPMD_CRYPTO_JOB_OFF_IV = offsetof(struct opmd_crypto_job, iv),
	OPMD_CRYPTO_JOB_OFF_AAD = offsetof(struct opmd_crypto_job, aad),
};

#endif /* OPMD_CRYPTO_H */
