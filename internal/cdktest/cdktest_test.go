package cdktest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func retrier(attempts float64, errs ...string) map[string]any {
	list := []any{}
	for _, e := range errs {
		list = append(list, e)
	}
	return map[string]any{"ErrorEquals": list, "MaxAttempts": attempts}
}

func TestShadowedRetriers(t *testing.T) {
	cases := []struct {
		name     string
		retry    []map[string]any
		shadowed bool
	}{
		{"TaskFailed with 0 attempts before ALL", []map[string]any{retrier(0, "States.TaskFailed"), retrier(6, "States.ALL")}, true},
		{"ALL with 0 attempts before a named error", []map[string]any{retrier(0, "States.ALL"), retrier(6, "Glue.ThrottlingException")}, true},
		{"a named error with 0 attempts before the same error", []map[string]any{retrier(0, "A", "B"), retrier(6, "B")}, true},
		{"a named error with 0 attempts before ALL", []map[string]any{retrier(0, "DynamoDB.ConditionalCheckFailedException"), retrier(6, "States.ALL")}, false},
		{"TaskFailed with 0 attempts before Timeout", []map[string]any{retrier(0, "States.TaskFailed"), retrier(6, "States.Timeout")}, false},
		{"a retried error before another", []map[string]any{retrier(3, "States.ALL"), retrier(6, "A")}, false},
		{"named errors only", []map[string]any{retrier(6, "Glue.ThrottlingException", "Glue.InternalServiceException")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Definition{States: map[string]State{"Task": {Type: "Task", Retry: c.retry}}}
			assert.Equal(t, c.shadowed, len(d.ShadowedRetriers()) > 0, d.ShadowedRetriers())
		})
	}
}
