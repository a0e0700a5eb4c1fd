package consumer_test

import (
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// s3Call is one S3 request of the job, as the IAM action it needs and the
// resource it names (an object key, or "" for the bucket itself).
type s3Call struct{ action, key string }

// sparkOverwriteCalls lists the S3 requests of a Spark overwrite of the folder
// dir (as the job's writes: df.write.mode("overwrite").csv("s3://bucket/dir/")).
// Sources: Hadoop S3A's getFileStatus probes the path's key, then key + "/",
// then lists key + "/" (S3AFileSystem, StatusProbeEnum.ALL; a 403 on the first
// HEAD fails the job, apache/hadoop#6507); mkdirs probes every ancestor the same
// way and deletes parent directory markers after a write; FileOutputCommitter
// writes under dir/_temporary and renames (copy + delete) into dir; EMRFS, which
// Glue 5.0 writes through, creates and deletes "<dir>_$folder$" markers for
// every folder it creates (EMR guide). DESIGN.md records the S3A run that
// reproduced the 403 on HEAD curated, curated-parquet and rejected.
func sparkOverwriteCalls(dir string) []s3Call {
	calls := []s3Call{{"s3:ListBucket", ""}}
	for folder := dir; folder != "."; folder = path.Dir(folder) {
		calls = append(calls,
			s3Call{"s3:GetObject", folder},       // HEAD folder
			s3Call{"s3:GetObject", folder + "/"}, // HEAD folder/
			s3Call{"s3:DeleteObject", folder + "/"},
			s3Call{"s3:GetObject", folder + "_$folder$"},
			s3Call{"s3:PutObject", folder + "_$folder$"},
			s3Call{"s3:DeleteObject", folder + "_$folder$"})
	}
	for _, key := range []string{dir + "/", dir + "/_temporary/0/_temporary/attempt_1/part-00000.csv", dir + "/part-00000.csv", dir + "/_SUCCESS"} {
		calls = append(calls, s3Call{"s3:PutObject", key}, s3Call{"s3:GetObject", key}, s3Call{"s3:DeleteObject", key})
	}
	return append(calls, s3Call{"s3:AbortMultipartUpload", dir + "/part-00000.csv"})
}

func TestFilterJob_RoleAllowsEveryS3CallOfSparksOverwrites(t *testing.T) {
	// GIVEN the job role's identity policy, as synthesized
	allowed := jobRoleAllows(t)
	// WHEN Spark overwrites each of the job's outputs, and the job puts its report
	var calls []s3Call
	for _, dir := range []string{"curated", "curated-parquet/run_id=r1", "rejected/run_id=r1"} {
		calls = append(calls, sparkOverwriteCalls(dir)...)
	}
	calls = append(calls, s3Call{"s3:PutObject", "reports/r1.json"}, s3Call{"s3:GetObject", "inbox/r1/part-0.parquet"})
	// THEN every call is allowed
	for _, c := range calls {
		assert.True(t, allowed(c), "%s on %q is not allowed", c.action, c.key)
	}
	require.Len(t, consumer.SparkOutputPrefixes, 3, "a new Spark output needs its calls listed here")
}

func TestFilterJob_RoleAllowsNothingBesideItsOutputs(t *testing.T) {
	allowed := jobRoleAllows(t)
	for _, c := range []s3Call{
		{"s3:PutObject", "curated"}, {"s3:DeleteObject", "curated"}, // the folder key is only stat'ed
		{"s3:PutObject", "curatedX/a"}, {"s3:GetObject", "curated-parquetX"},
		{"s3:PutObject", "inbox/r1/a"}, {"s3:DeleteObject", "inbox/r1/a"},
		{"s3:PutObject", "processed/r1/a"}, {"s3:GetObject", "archive/r1/a"},
		{"s3:DeleteObject", "reports/r1.json"}, {"s3:PutObject", "errors/a"},
	} {
		assert.False(t, allowed(c), "%s on %q is allowed", c.action, c.key)
	}
}

// jobRoleAllows evaluates the job role's identity policy with a small matcher,
// not AWS's evaluator: it honours Allow statements without conditions, Action
// and Resource wildcards (`*`, `?`), and nothing else (no Deny, NotAction,
// conditions, resource policies or permission boundaries); none of these
// occur in the statements it reads. The inbox bucket is "lb-sales-inbox".
func jobRoleAllows(t *testing.T) func(s3Call) bool {
	tpl := consumerTemplate(t, nil)
	type statement struct{ actions, resources []string }
	var statements []statement
	for id, p := range tpl.Resources("AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "JobRole") {
			continue
		}
		for _, raw := range p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := raw.(map[string]any)
			require.Equal(t, "Allow", st["Effect"])
			if st["Condition"] != nil {
				continue
			}
			statements = append(statements, statement{strs(st["Action"]), strs(st["Resource"])})
		}
	}
	require.NotEmpty(t, statements)
	return func(c s3Call) bool {
		arn := "arn:aws:s3:::lb-sales-inbox"
		if c.key != "" {
			arn += "/" + c.key
		}
		for _, st := range statements {
			if matchesAny(st.actions, c.action, true) && matchesAny(st.resources, arn, false) {
				return true
			}
		}
		return false
	}
}

// strs renders a policy value (string, list, or an Fn::Join / Fn::GetAtt of
// the inbox bucket) as plain strings.
func strs(v any) []string {
	if list, ok := v.([]any); ok {
		var out []string
		for _, item := range list {
			out = append(out, strs(item)...)
		}
		return out
	}
	text := cdktest.JSON(v)
	text = regexp.MustCompile(`\{"Fn::GetAtt":\["InboxBucket[0-9A-F]+","Arn"\]\}`).ReplaceAllString(text, `"arn:aws:s3:::lb-sales-inbox"`)
	text = strings.ReplaceAll(text, `{"Ref":"AWS::Partition"}`, `"aws"`)
	if m := regexp.MustCompile(`^\{"Fn::Join":\["",\[(.*)\]\]\}$`).FindStringSubmatch(text); m != nil {
		text = `"` + strings.ReplaceAll(strings.Trim(m[1], `"`), `","`, "") + `"`
	}
	return []string{strings.Trim(text, `"`)}
}

// matchesAny reports whether value matches one of the IAM patterns.
func matchesAny(patterns []string, value string, caseInsensitive bool) bool {
	for _, p := range patterns {
		expr := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if caseInsensitive {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile(expr).MatchString(value) {
			return true
		}
	}
	return false
}
