package consumer

import (
	"testing"

	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the worker process, as the kpar binary does in
// production: re-executed with this variable set, it runs one worker.
const workerChild = testkit.Child("KPAR_LAB_TEST_WORKER")

func TestMain(m *testing.M) { workerChild.Main(m, worker.Main) }

var testCommand = workerChild.Command
