package whisk

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// KeyValue is one entry of a parameter or annotation list. Value is any JSON
// value. Init marks a parameter that goes to the runtime's init as
// environment instead of to each run.
type KeyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Init  bool            `json:"init,omitempty"`
}

// KeyValues is an ordered parameter or annotation list.
type KeyValues []KeyValue

// Get returns the value stored under key, or nil.
func (kv KeyValues) Get(key string) json.RawMessage {
	for i := len(kv) - 1; i >= 0; i-- {
		if kv[i].Key == key {
			return kv[i].Value
		}
	}
	return nil
}

// Has reports whether key is present.
func (kv KeyValues) Has(key string) bool { return kv.Get(key) != nil }

// Set replaces the value under key, or appends it.
func (kv KeyValues) Set(key string, value any) KeyValues {
	raw := mustJSON(value)
	for i := range kv {
		if kv[i].Key == key {
			kv[i].Value = raw
			return kv
		}
	}
	return append(kv, KeyValue{Key: key, Value: raw})
}

// Delete removes every entry under the given keys.
func (kv KeyValues) Delete(keys ...string) KeyValues {
	out := kv[:0:0]
	for _, e := range kv {
		drop := false
		for _, k := range keys {
			if e.Key == k {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

// Merge returns kv with the entries of other added, other winning per key.
func (kv KeyValues) Merge(other KeyValues) KeyValues {
	out := append(KeyValues(nil), kv...)
	for _, e := range other {
		replaced := false
		for i := range out {
			if out[i].Key == e.Key {
				out[i] = e
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// IsTrue reports whether the value under key is the JSON boolean true.
func (kv KeyValues) IsTrue(key string) bool {
	return bytes.Equal(bytes.TrimSpace(kv.Get(key)), []byte("true"))
}

// Truthy reports whether the value under key is truthy the way OpenWhisk's
// annotations are read: present and not false, null, 0 or "".
func (kv KeyValues) Truthy(key string) bool {
	v := bytes.TrimSpace(kv.Get(key))
	switch string(v) {
	case "", "false", "null", "0", `""`:
		return false
	}
	return true
}

// Object renders the list as one JSON object, later keys winning.
func (kv KeyValues) Object() map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv))
	for _, e := range kv {
		m[e.Key] = e.Value
	}
	return m
}

// EnvString renders a JSON value the way init env values are passed:
// strings as they are, null as "", others compactly printed.
func EnvString(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return buf.String()
	}
	return string(v)
}

func mustJSON(v any) json.RawMessage {
	switch x := v.(type) {
	case json.RawMessage:
		return x
	case bool:
		return json.RawMessage(strconv.FormatBool(x))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// JSONString renders s as a JSON string value.
func JSONString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // strings always marshal
	return b
}
