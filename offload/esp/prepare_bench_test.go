package esp

import (
	"fmt"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// BenchmarkPrepareEncrypt is the framing alone, as the data path runs it
// with a device doing the crypto: PrepareEncryptSeq on bursts of 32 IPv4
// packets in tunnel mode (GCM, CBC), sequence numbers taken by a
// SeqBlock, one job reused (the device's job is filled from it). Each
// packet's L2 and inner IP headers are put back between rounds (34 bytes).
// ns/op is per packet.
func BenchmarkPrepareEncrypt(b *testing.B) {
	for _, alg := range []Algorithm{AESGCM128, AESCBC128SHA256} {
		for _, size := range []int{64, 1500} {
			b.Run(fmt.Sprintf("%v/%d", alg, size), func(b *testing.B) { benchPrepare(b, alg, size) })
		}
	}
}

func benchPrepare(b *testing.B, alg Algorithm, size int) {
	out, ps := encapBurst(b, alg, size)
	var job Job
	var seqs SeqBlock
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += burst {
		k := min(burst, b.N-n)
		for i := range k {
			if why := out.PrepareEncryptSeq(ps.rewind(i), header.EthernetLen, &job, &seqs); why != OK {
				b.Fatal(why)
			}
		}
		seqs.Release()
	}
}
