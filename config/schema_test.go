package config_test

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type schemaNode = map[string]any

func loadSchema(t *testing.T) schemaNode {
	data, err := os.ReadFile("schema.json")
	require.NoError(t, err)
	var s schemaNode
	require.NoError(t, json.Unmarshal(data, &s))
	return s
}

// compareToGo checks that node describes Go type typ: the same keys at every
// level (no more, no fewer) and the same JSON type for every value.
func compareToGo(t *testing.T, node schemaNode, typ reflect.Type, path string) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		assert.Equal(t, "object", node["type"], path)
		assert.Equal(t, false, node["additionalProperties"], "%s must refuse unknown keys, as Parse does", path)
		props, _ := node["properties"].(map[string]any)
		var goKeys []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			goKeys = append(goKeys, name)
			if sub, ok := props[name].(map[string]any); assert.True(t, ok, "%s.%s is missing from the schema", path, name) {
				compareToGo(t, sub, typ.Field(i).Type, strings.TrimPrefix(path+"."+name, "."))
			}
		}
		if path == "" {
			goKeys = append(goKeys, config.SchemaKey)
		}
		assert.ElementsMatch(t, goKeys, slices.Collect(maps.Keys(props)), "keys of %q", path)
	case reflect.Slice:
		assert.Equal(t, "array", node["type"], path)
		compareToGo(t, node["items"].(map[string]any), typ.Elem(), path+"[]")
	case reflect.Map:
		assert.Equal(t, "object", node["type"], path)
		compareToGo(t, node["additionalProperties"].(map[string]any), typ.Elem(), path+"{}")
	case reflect.String:
		if enum, ok := node["enum"].([]any); ok {
			for _, v := range enum {
				assert.IsType(t, "", v, path)
			}
			return
		}
		assert.Equal(t, "string", node["type"], path)
	case reflect.Int:
		assert.Equal(t, "integer", node["type"], path)
	default:
		t.Errorf("%s: no schema rule for Go kind %s", path, typ.Kind())
	}
}

func TestSchema_DescribesExactlyTheKeysAndTypesOfTheGoTypes(t *testing.T) {
	compareToGo(t, loadSchema(t), reflect.TypeFor[config.Deployment](), "")
}

// requiredPaths lists the keys the schema requires, as dotted paths.
func requiredPaths(node schemaNode, path string) []string {
	var out []string
	if items, ok := node["items"].(map[string]any); ok {
		return requiredPaths(items, path+"[0]")
	}
	props, _ := node["properties"].(map[string]any)
	required, _ := node["required"].([]any)
	for _, r := range required {
		out = append(out, strings.TrimPrefix(path+"."+r.(string), "."))
	}
	for name, sub := range props {
		out = append(out, requiredPaths(sub.(map[string]any), strings.TrimPrefix(path+"."+name, "."))...)
	}
	return out
}

func TestSchema_RequiresWhatParseRequires(t *testing.T) {
	// GIVEN a configuration with only the keys the schema requires
	for _, path := range requiredPaths(loadSchema(t), "") {
		t.Run(path, func(t *testing.T) {
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(minimal), &doc))
			// WHEN one required key is removed
			deletePath(doc, path)
			data, _ := json.Marshal(doc)
			// THEN Parse refuses it too, naming that key
			_, err := config.Parse(data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), strings.TrimSuffix(path[strings.LastIndex(path, ".")+1:], "[0]"))
		})
	}
	// AND every key the minimal configuration holds (each one Parse needs) is required by the schema
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(minimal), &doc))
	assert.ElementsMatch(t, keyPaths(doc, ""), requiredPaths(loadSchema(t), ""))
}

// keyPaths lists every key of doc as a dotted path, a list's first item as [0].
func keyPaths(doc map[string]any, path string) []string {
	var out []string
	for name, v := range doc {
		full := strings.TrimPrefix(path+"."+name, ".")
		out = append(out, full)
		switch v := v.(type) {
		case map[string]any:
			out = append(out, keyPaths(v, full)...)
		case []any:
			out = append(out, keyPaths(v[0].(map[string]any), full+"[0]")...)
		}
	}
	return out
}

// deletePath removes a dotted path (with [0] for a list's first item) from doc.
func deletePath(doc map[string]any, path string) {
	parts := strings.Split(path, ".")
	node := doc
	for _, p := range parts[:len(parts)-1] {
		name, first := strings.CutSuffix(p, "[0]")
		if first {
			node = node[name].([]any)[0].(map[string]any)
		} else {
			node = node[name].(map[string]any)
		}
	}
	delete(node, parts[len(parts)-1])
}

func TestExample_NamesTheSchemaForEditors(t *testing.T) {
	var example map[string]any
	require.NoError(t, json.Unmarshal(config.Example, &example))
	assert.Equal(t, "./schema.json", example[config.SchemaKey])
}
