package pmd_test

import (
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestMain(m *testing.M) { pmdtest.Main(m, "pmd") }
