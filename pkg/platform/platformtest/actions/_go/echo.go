package main

import "encoding/json"

func Main(params json.RawMessage) json.RawMessage {
	return params
}
