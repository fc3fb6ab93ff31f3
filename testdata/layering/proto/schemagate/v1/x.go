package v1

import _ "github.com/schemagate/schemagate/store"
