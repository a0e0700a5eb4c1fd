package cdktest

import "encoding/json"

// LifecycleRule is one rule of a synthesized bucket's LifecycleConfiguration.
type LifecycleRule struct {
	ID                          string `json:"Id"`
	Prefix                      string
	Status                      string
	ExpirationInDays            float64
	ExpiredObjectDeleteMarker   bool
	NoncurrentVersionExpiration struct{ NoncurrentDays float64 }
}

// LifecycleRules are the lifecycle rules of a synthesized AWS::S3::Bucket.
func LifecycleRules(bucket map[string]any) []LifecycleRule {
	var props struct {
		LifecycleConfiguration struct{ Rules []LifecycleRule }
	}
	data, _ := json.Marshal(bucket["Properties"])
	_ = json.Unmarshal(data, &props)
	return props.LifecycleConfiguration.Rules
}

// VersionedBuckets are the versioned buckets of a template, by logical ID:
// the data buckets, not their access log buckets.
func (tpl Template) VersionedBuckets() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, b := range tpl.Resources("AWS::S3::Bucket") {
		if containsVersioning(b) {
			out[id] = b
		}
	}
	return out
}

func containsVersioning(bucket map[string]any) bool {
	props, _ := bucket["Properties"].(map[string]any)
	v, _ := props["VersioningConfiguration"].(map[string]any)
	return v["Status"] == "Enabled"
}

// KeyStatements are the key policy statements of every AWS::KMS::Key of a
// template, by Sid.
func (tpl Template) KeyStatements() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, key := range tpl.Resources("AWS::KMS::Key") {
		var policy struct{ Statement []map[string]any }
		data, _ := json.Marshal(key["Properties"].(map[string]any)["KeyPolicy"])
		_ = json.Unmarshal(data, &policy)
		for _, st := range policy.Statement {
			sid, _ := st["Sid"].(string)
			out[sid] = st
		}
	}
	return out
}
