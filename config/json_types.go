package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
)

// utf8BOM is what some Windows editors write before the JSON text. JSON
// texts must not begin with it (RFC 8259, section 8.1) but parsers may
// ignore it: Parse does, so such a file reads as the editor showed it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func withoutBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, utf8BOM)
}

// typeErrors walks the decoded JSON against the Go type it decodes into and
// reports every value of the wrong JSON type with its full path, list
// indexes and map keys included (consumers[1].filterJob.numberOfWorkers),
// which encoding/json's UnmarshalTypeError leaves out.
func typeErrors(value any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if value == nil {
		return nil // null leaves the default, as an absent key does
	}
	wrong := func() []error {
		return []error{fmt.Errorf("%s must be %s, got a JSON %s", path, describeType(t), jsonKind(value))}
	}
	switch t.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return wrong()
		}
		var errs []error
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if v, present := object[name]; present {
				errs = append(errs, typeErrors(v, f.Type, strings.TrimPrefix(path+"."+name, "."))...)
			}
		}
		return errs
	case reflect.Slice:
		items, ok := value.([]any)
		if !ok {
			return wrong()
		}
		var errs []error
		for i, item := range items {
			errs = append(errs, typeErrors(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case reflect.Map:
		object, ok := value.(map[string]any)
		if !ok {
			return wrong()
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(object)) {
			errs = append(errs, typeErrors(object[k], t.Elem(), fmt.Sprintf("%s[%q]", path, k))...)
		}
		return errs
	case reflect.String:
		if _, ok := value.(string); !ok {
			return wrong()
		}
	case reflect.Int:
		if n, ok := value.(float64); !ok || n != math.Trunc(n) {
			return wrong()
		}
	}
	return nil
}

// jsonKind names a decoded JSON value's type as a user reads the file.
func jsonKind(value any) string {
	switch v := value.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return fmt.Sprintf("number %g", v)
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", value)
}

// checkTypes reports the type errors of a decoded configuration, if any.
func checkTypes(raw any) error {
	return errors.Join(typeErrors(raw, reflect.TypeFor[Deployment](), "")...)
}
