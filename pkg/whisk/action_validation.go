package whisk

import (
	"encoding/json"
	"strings"
)

// Size limits of an action PUT.
const (
	MaxCodeSize       = 48 * 1024 * 1024
	MaxParametersSize = 1024 * 1024
	MaxPayloadSize    = 1024 * 1024
	MaxResultSize     = 1024 * 1024
)

// CheckSizes applies the 413 checks that precede everything else on PUT.
func (p *ActionPut) CheckSizes() error {
	if p.Exec != nil {
		if n := len(p.Exec.Code); n > MaxCodeSize {
			return Errorf(KindTooLarge, "exec larger than allowed: %d > %d bytes.", n, MaxCodeSize)
		}
	}
	if p.Parameters != nil {
		if n := p.Parameters.size(); n > MaxParametersSize {
			return Errorf(KindTooLarge, "parameters larger than allowed: %d > %d bytes.", n, MaxParametersSize)
		}
	}
	if p.Annotations != nil {
		if n := p.Annotations.size(); n > MaxParametersSize {
			return Errorf(KindTooLarge, "annotations larger than allowed: %d > %d bytes.", n, MaxParametersSize)
		}
	}
	return nil
}

func (kv KeyValues) size() int {
	n := 0
	for _, e := range kv {
		n += len(e.Key) + len(e.Value)
	}
	return n
}

// CheckKeyValues rejects entries without a key or with an invalid value.
func CheckKeyValues(what string, kv *KeyValues) error {
	if kv == nil {
		return nil
	}
	for i, e := range *kv {
		if e.Key == "" {
			return Malformed(what + " entry " + itoa(i) + " has no key")
		}
		if len(e.Value) == 0 {
			(*kv)[i].Value = json.RawMessage("null")
		}
	}
	return nil
}

// IsBinaryCode is OpenWhisk's binary detection: trimmed code that is
// non-empty, a multiple of 4 long, and matches the base64 alphabet.
func IsBinaryCode(code string) bool {
	t := strings.TrimSpace(code)
	if t == "" || len(t)%4 != 0 {
		return false
	}
	pad := 0
	if strings.HasSuffix(t, "==") {
		pad = 2
	} else if strings.HasSuffix(t, "=") {
		pad = 1
	}
	for i := 0; i < len(t)-pad; i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

func itoa(i int) string {
	b, _ := json.Marshal(i) // ints always marshal
	return string(b)
}
