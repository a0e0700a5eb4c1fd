// Package nag records why a resource may carry a cdk-nag finding, without
// making cdk-nag a dependency of every app that imports the constructs.
//
// cdk-nag keeps a suppression as CloudFormation metadata on the resource,
// `cdk_nag: {rules_to_suppress: [{reason, id, applies_to}]}`, and its rules
// read them back from there (cdk-nag 2.38.2 lib/nag-suppressions.js,
// addResourceSuppressions; lib/utils/nag-suppression-helper.js,
// addRulesToMetadata and getSuppressions). Writing that metadata here is what
// NagSuppressions.addResourceSuppressions does, so an app that runs cdk-nag
// (this repository's, or a user's) honours every reason, and an app that does
// not never loads cdk-nag.
package nag

import (
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// metadataKey is where cdk-nag reads suppressions from.
const metadataKey = "cdk_nag"

// Suppression is one rule (e.g. AwsSolutions-IAM5) that a resource may break,
// with the reason. AppliesTo narrows a granular rule to the findings named
// (e.g. "Resource::*"), AppliesToRegex to those a /regex/ matches; with
// neither, every finding of the rule on the resource is suppressed.
type Suppression struct {
	ID             string
	Reason         string
	AppliesTo      []string
	AppliesToRegex []string
}

// cfnSuppression is a Suppression in cdk-nag's metadata format.
type cfnSuppression struct {
	Reason          string `json:"reason"`
	ID              string `json:"id"`
	AppliesTo       []any  `json:"applies_to,omitempty"`
	IsReasonEncoded bool   `json:"is_reason_encoded,omitempty"`
}

// toCfn is cdk-nag's toCfnFormat: a reason with a character beyond Latin-1
// is stored base64-encoded and flagged.
func (s Suppression) toCfn() cfnSuppression {
	out := cfnSuppression{Reason: s.Reason, ID: s.ID}
	for _, a := range s.AppliesTo {
		out.AppliesTo = append(out.AppliesTo, a)
	}
	for _, r := range s.AppliesToRegex {
		out.AppliesTo = append(out.AppliesTo, map[string]string{"regex": r})
	}
	for _, r := range s.Reason {
		if r > 255 {
			out.Reason, out.IsReasonEncoded = base64.StdEncoding.EncodeToString([]byte(s.Reason)), true
			break
		}
	}
	return out
}

// Suppress records the suppressions on construct's CloudFormation resource
// (its default child for an L2) and, with applyToChildren, on every resource
// under it that exists now, as cdk-nag's addResourceSuppressions does.
func Suppress(construct constructs.IConstruct, applyToChildren bool, suppressions ...Suppression) {
	targets := []constructs.IConstruct{construct}
	if applyToChildren {
		targets = *construct.Node().FindAll(constructs.ConstructOrder_PREORDER)
	}
	for _, target := range targets {
		l1 := target
		if child := target.Node().DefaultChild(); child != nil {
			l1 = child
		}
		if !*awscdk.CfnResource_IsCfnResource(l1) {
			continue
		}
		resource := l1.(awscdk.CfnResource)
		resource.AddMetadata(jsii.String(metadataKey), merge(resource.GetMetadata(jsii.String(metadataKey)), suppressions))
	}
}

// merge is cdk-nag's addRulesToMetadata: the rules already there, then the
// new ones, each kept once.
func merge(existing any, suppressions []Suppression) map[string]any {
	var rules []any
	if m, ok := existing.(map[string]any); ok {
		if old, ok := m["rules_to_suppress"].([]any); ok {
			rules = append(rules, old...)
		}
	}
	for _, s := range suppressions {
		rules = append(rules, asJSONValue(s.toCfn()))
	}
	seen := map[string]bool{}
	unique := []any{}
	for _, r := range rules {
		key, _ := json.Marshal(r)
		if !seen[string(key)] {
			seen[string(key)] = true
			unique = append(unique, r)
		}
	}
	return map[string]any{"rules_to_suppress": unique}
}

// asJSONValue turns a struct into the maps and slices jsii passes to CDK.
func asJSONValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}
