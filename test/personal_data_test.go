package test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// placesHeader opens the README's table of every place a lead can be.
const placesHeader = "| account | place | holds | encrypted with | kept |"

// place is one row of that table.
type place struct {
	account, place, holds, key, kept string
}

// readmePlaces reads the table under placesHeader from the README.
func readmePlaces(t *testing.T) []place {
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, table, found := strings.Cut(string(data), placesHeader+"\n")
	require.True(t, found, "the README has no table starting %q", placesHeader)
	var rows []place
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cells, 5, "row %q", line)
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, place{cells[0], cells[1], cells[2], cells[3], cells[4]})
	}
	return rows
}

var (
	bucketPlace = regexp.MustCompile("^(landing|inbox) bucket `([a-z-]+/)`$")
	keptDays    = regexp.MustCompile("^(\\d+) days \\(`(producer|consumers\\[\\])\\.(\\w+)`\\)$")
)

// bucketRow is a table row about a prefix of a data bucket.
type bucketRow struct {
	side, prefix, configKey string
	days                    float64
}

// bucketRows are the rows of the table about the data buckets, by "side prefix".
func bucketRows(t *testing.T, rows []place) map[string]bucketRow {
	out := map[string]bucketRow{}
	for _, r := range rows {
		m := bucketPlace.FindStringSubmatch(r.place)
		if m == nil {
			continue
		}
		k := keptDays.FindStringSubmatch(r.kept)
		require.NotNil(t, k, "row %q: kept must read like 90 days (`consumers[].sentRetentionDays`), got %q", r.place, r.kept)
		side := sideOf[m[1]]
		require.Equal(t, side, r.account, "row %q", r.place)
		require.Equal(t, map[string]string{"producer": "producer", "consumer": "consumers[]"}[side], k[2], "row %q names the other side's key", r.place)
		var days float64
		fmt.Sscan(k[1], &days)
		out[side+" "+m[2]] = bucketRow{side: side, prefix: m[2], configKey: k[3], days: days}
	}
	return out
}

// lifecycle is what the synthesized data buckets do, by "side prefix", in
// every stack of the app: the rules of each prefix, and the encryption.
type lifecycle struct {
	expiry     map[string][]float64 // days, one per stack
	noncurrent map[string][]float64
	wholeRules []cdktest.LifecycleRule // the rules without a prefix, of every bucket
	encryption map[string][]string     // side -> each bucket's SSEAlgorithm
	written    map[string]bool         // folders (prefix/) some statement allows s3:PutObject under
}

func (l lifecycle) expires(prefix string) bool {
	for key := range l.expiry {
		if strings.HasSuffix(key, " "+prefix) {
			return true
		}
	}
	return false
}

// writtenFolder finds "<bucket>/<folder>/*" in a statement's resources.
var writtenFolder = regexp.MustCompile(`/([a-z][a-z0-9-]*/)\*"`)

// writtenFolders are the folders of data buckets the statements of every
// policy of tpl allow s3:PutObject under. A server access log bucket's folder
// (S3's log delivery writes access-logs/ there, allowed by the bucket's policy
// once the pinned flag @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy is on)
// is left out: it holds keys and requesters, no lead field, and that bucket
// expires every object (its README row).
func writtenFolders(tpl cdktest.Template, into map[string]bool) {
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::S3::BucketPolicy"} {
		for _, p := range tpl.Resources(typ) {
			var doc struct{ Statement []map[string]any }
			data, _ := json.Marshal(p["Properties"].(map[string]any)["PolicyDocument"])
			_ = json.Unmarshal(data, &doc)
			for _, st := range doc.Statement {
				if st["Effect"] == "Allow" && strings.Contains(cdktest.JSON(st["Action"]), `"s3:PutObject"`) {
					for _, resource := range listed(st["Resource"]) {
						if text := cdktest.JSON(resource); !strings.Contains(text, databucket.AccessLogsID) {
							for _, m := range writtenFolder.FindAllStringSubmatch(text, -1) {
								into[m[1]] = true
							}
						}
					}
				}
			}
		}
	}
}

// listed is a policy element that may be one value or a list, as a list.
func listed(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func synthLifecycle(t *testing.T, configJSON string) lifecycle {
	d, err := config.Parse([]byte(configJSON))
	require.NoError(t, err)
	app := stacks.NewApp(awscdk.NewApp(nil), d)
	sides := map[string][]awscdk.Stack{"producer": {app.Producer.Stack}}
	for _, c := range app.Consumers {
		sides["consumer"] = append(sides["consumer"], c.Stack)
	}
	out := lifecycle{expiry: map[string][]float64{}, noncurrent: map[string][]float64{}, encryption: map[string][]string{}, written: map[string]bool{}}
	for side, stacks := range sides {
		for _, stack := range stacks {
			tpl := cdktest.Synth(t, stack)
			writtenFolders(tpl, out.written)
			buckets := tpl.VersionedBuckets()
			require.Len(t, buckets, 1, "%s: one data bucket", *stack.StackName())
			for _, b := range buckets {
				out.encryption[side] = append(out.encryption[side], sseAlgorithm(b))
				for _, r := range cdktest.LifecycleRules(b) {
					if r.Prefix == "" {
						out.wholeRules = append(out.wholeRules, r)
						continue
					}
					if r.ExpirationInDays > 0 {
						key := side + " " + r.Prefix
						out.expiry[key] = append(out.expiry[key], r.ExpirationInDays)
						out.noncurrent[key] = append(out.noncurrent[key], r.NoncurrentVersionExpiration.NoncurrentDays)
					}
				}
			}
		}
	}
	return out
}

func sseAlgorithm(bucket map[string]any) string {
	m := regexp.MustCompile(`"SSEAlgorithm":"([^"]+)"`).FindStringSubmatch(cdktest.JSON(bucket["Properties"]))
	if m == nil {
		return ""
	}
	return m[1]
}

// twoConsumers is a configuration with every retention key left to its default.
const twoConsumers = `{
  "producer": {"account": "111111111111", "region": "eu-west-1", "marketo": {"connectorProfile": "m"}%s},
  "consumers": [
    {"name": "sales", "account": "222222222222", "region": "eu-west-1", "salesforce": {"connectorProfile": "s"}%s},
    {"name": "partners", "account": "333333333333", "region": "eu-west-1", "salesforce": {"connectorProfile": "p"}%s}
  ]
}`

func TestReadme_PersonalDataTableIsWhatTheBucketsKeep(t *testing.T) {
	// GIVEN the README's table of where a lead can be
	rows := bucketRows(t, readmePlaces(t))
	require.NotEmpty(t, rows)
	// WHEN the app is synthesized with every retention key left to its default
	got := synthLifecycle(t, fmt.Sprintf(twoConsumers, "", "", ""))
	// THEN every row is a lifecycle rule of its bucket in every account, with the row's days
	for key, row := range rows {
		assert.NotEmpty(t, got.expiry[key], "README row %q has no lifecycle rule", key)
		for _, days := range got.expiry[key] {
			assert.Equal(t, row.days, days, "%s: README says %g days", key, row.days)
		}
		for _, days := range got.noncurrent[key] {
			assert.Equal(t, databucket.NoncurrentDays(row.days), days, "%s: noncurrent versions", key)
		}
	}
	// AND every expiring prefix of a data bucket has its row
	for key := range got.expiry {
		_, listed := rows[key]
		assert.True(t, listed, "lifecycle rule of %s has no row in the README's personal data table", key)
	}
	// AND every folder some policy lets a principal write expires in some data bucket
	assert.Subset(t, keys(got.written), []string{"landing/", "inbox/", "curated/", "errors/", "map-results/"})
	for prefix := range got.written {
		assert.True(t, got.expires(prefix), "policies allow s3:PutObject under %s, which no lifecycle rule expires", prefix)
	}
	// AND every data bucket removes the delete markers expiry leaves behind
	markers := 0
	for _, r := range got.wholeRules {
		if r.ExpiredObjectDeleteMarker {
			markers++
		}
	}
	assert.Equal(t, 3, markers, "one rule per data bucket (producer and two consumers) removes expired delete markers")
	// AND every row names the encryption of its bucket
	for _, r := range readmePlaces(t) {
		if m := bucketPlace.FindStringSubmatch(r.place); m != nil {
			for _, algorithm := range got.encryption[sideOf[m[1]]] {
				assert.Equal(t, encryptionWords[m[1]][algorithm], r.key, "README row %q: the bucket's SSEAlgorithm is %q", r.place, algorithm)
			}
		}
	}
}

// encryptionWords are the README's words for a data bucket's SSEAlgorithm, by bucket.
var encryptionWords = map[string]map[string]string{
	"landing": {"aws:kms": "the landing key", "AES256": "SSE-S3"},
	"inbox":   {"aws:kms": "the inbox key", "AES256": "SSE-S3"},
}

// sideOf is the side that keeps a bucket of the table.
var sideOf = map[string]string{"landing": "producer", "inbox": "consumer"}

func TestReadme_PersonalDataTableNamesTheKeyThatSetsEachRow(t *testing.T) {
	// GIVEN every retention key set to a value of its own
	values := map[string]float64{
		"producer rawRunsRetentionDays": 11, "producer reportsRetentionDays": 12,
		"consumer rawRunsRetentionDays": 13, "consumer sentRetentionDays": 14,
		"consumer refusedRetentionDays": 15, "consumer reportsRetentionDays": 16,
	}
	consumerKeys := `, "rawRunsRetentionDays": 13, "sentRetentionDays": 14, "refusedRetentionDays": 15, "reportsRetentionDays": 16`
	got := synthLifecycle(t, fmt.Sprintf(twoConsumers, `, "rawRunsRetentionDays": 11, "reportsRetentionDays": 12`, consumerKeys, consumerKeys))
	// THEN each README row's prefix expires after the value of the key the row names
	for key, row := range bucketRows(t, readmePlaces(t)) {
		want, known := values[row.side+" "+row.configKey]
		require.True(t, known, "README row %q names %s, which is no retention key of the %s", key, row.configKey, row.side)
		for _, days := range got.expiry[key] {
			assert.Equal(t, want, days, "%s: set by %s", key, row.configKey)
		}
	}
}

func keys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}
