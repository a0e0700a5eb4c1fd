package databucket_test

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rulesOf(t *testing.T, retention []databucket.Retention) map[string]cdktest.LifecycleRule {
	stack := cdktest.EnvStack(nil, "Test", "111111111111")
	databucket.NewBuckets(stack, &databucket.Props{Retention: retention})
	buckets := cdktest.Synth(t, stack).VersionedBuckets()
	require.Len(t, buckets, 1)
	out := map[string]cdktest.LifecycleRule{}
	for _, b := range buckets {
		for _, r := range cdktest.LifecycleRules(b) {
			out[r.ID] = r
		}
	}
	return out
}

func TestNewBuckets_EndsEveryClassOnCurrentAndNoncurrentVersions(t *testing.T) {
	// GIVEN a class kept a year and one kept a week
	rules := rulesOf(t, []databucket.Retention{
		{Class: databucket.RawRuns, Prefixes: []string{"landing/", "archive/"}, Days: 365},
		{Class: databucket.Reports, Prefixes: []string{"reports/"}, Days: 7},
	})
	// THEN each prefix expires its current versions after the class's days, and the versions
	// they leave behind after 30 days more, or the class's days when fewer
	for id, want := range map[string][2]float64{
		"ExpireRawRuns-landing": {365, 30}, "ExpireRawRuns-archive": {365, 30}, "ExpireReports-reports": {7, 7},
	} {
		rule, ok := rules[id]
		if assert.True(t, ok, "no rule %s in %v", id, rules) {
			assert.Equal(t, want[0], rule.ExpirationInDays, id)
			assert.Equal(t, want[1], rule.NoncurrentVersionExpiration.NoncurrentDays, id)
			assert.Equal(t, "Enabled", rule.Status, id)
		}
	}
	// AND one rule for the whole bucket removes the delete markers expiry leaves behind
	whole := rules["ExpireNoncurrentVersions"]
	assert.Empty(t, whole.Prefix)
	assert.True(t, whole.ExpiredObjectDeleteMarker)
	assert.Equal(t, float64(databucket.RecoveryDays), whole.NoncurrentVersionExpiration.NoncurrentDays)
}

func TestValidateRetention_NamesThePropAndTheValue(t *testing.T) {
	err := databucket.ValidateRetention(map[string]*float64{
		"SentRetentionDays": jsii.Number(0), "RawRunsRetentionDays": jsii.Number(1.5),
		"ReportsRetentionDays": jsii.Number(36501), "RefusedRetentionDays": nil,
	})
	require.Error(t, err)
	assert.Equal(t, "RawRunsRetentionDays must be a whole number of days from 1 to 36500, got 1.5\n"+
		"ReportsRetentionDays must be a whole number of days from 1 to 36500, got 36501\n"+
		"SentRetentionDays must be a whole number of days from 1 to 36500, got 0", err.Error())
	assert.NoError(t, databucket.ValidateRetention(map[string]*float64{"SentRetentionDays": jsii.Number(1)}))
}
