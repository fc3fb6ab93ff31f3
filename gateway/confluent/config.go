package confluent

import (
	"net/http"

	"github.com/schemagate/schemagate/registry"
)

// POST /compatibility/subjects/{subject}/versions[/{version}]: without a version, against
// every version the subject's level names; verbose=true adds the reasons.
func (h *handler) compatibility(r *http.Request) (any, error) {
	version := 0
	if s := r.PathValue("version"); s != "" {
		v, err := parseVersion(s)
		if err != nil {
			return nil, err
		}
		version = v
	}
	in, err := readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	msgs, err := h.reg.CheckCompatibility(r.Context(), r.PathValue("subject"), version, in)
	if err != nil {
		return nil, err
	}
	if !queryBool(r, "verbose") {
		return compatibilityBody{IsCompatible: len(msgs) == 0}, nil
	}
	if msgs == nil {
		msgs = []string{}
	}
	return verboseCompatibilityBody{IsCompatible: len(msgs) == 0, Messages: msgs}, nil
}

// GET /config and /config/{subject} (defaultToGlobal falls back to the global level, and to
// the global JSON Schema format setting).
func (h *handler) getConfig(r *http.Request) (any, error) {
	c, err := h.reg.Config(r.Context(), r.PathValue("subject"), queryBool(r, "defaultToGlobal"))
	if err != nil {
		return nil, err
	}
	return configBodyOf(c), nil
}

// PUT /config and /config/{subject}: echoes what was set, as "compatibility".
func (h *handler) putConfig(r *http.Request) (any, error) {
	var req configBody
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	level := req.Compatibility
	if level == "" {
		level = req.CompatibilityLevel
	}
	if level != "" {
		if _, err := registry.ParseCompatibilityLevel(level); err != nil {
			return nil, err
		}
	}
	c, err := h.reg.SetConfig(r.Context(), r.PathValue("subject"), req.config(level))
	if err != nil {
		return nil, err
	}
	b := configBodyOf(c)
	b.Compatibility, b.CompatibilityLevel = b.CompatibilityLevel, ""
	return b, nil
}

// DELETE /config and /config/{subject}: answers the configuration removed.
func (h *handler) deleteConfig(r *http.Request) (any, error) {
	c, err := h.reg.DeleteConfig(r.Context(), r.PathValue("subject"))
	if err != nil {
		return nil, err
	}
	return configBodyOf(c), nil
}

// GET /mode and /mode/{subject}
func (h *handler) getMode(r *http.Request) (any, error) {
	m, err := h.reg.AccessMode(r.Context(), r.PathValue("subject"), queryBool(r, "defaultToGlobal"))
	if err != nil {
		return nil, err
	}
	return modeBody{Mode: string(m)}, nil
}

// PUT /mode and /mode/{subject}; force=true enters IMPORT although schemas exist.
func (h *handler) putMode(r *http.Request) (any, error) {
	var req modeBody
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	m, err := h.reg.SetAccessMode(r.Context(), r.PathValue("subject"), registry.AccessMode(req.Mode), queryBool(r, "force"))
	if err != nil {
		return nil, err
	}
	return modeBody{Mode: string(m)}, nil
}

// DELETE /mode and /mode/{subject}: answers the mode removed.
func (h *handler) deleteMode(r *http.Request) (any, error) {
	m, err := h.reg.DeleteAccessMode(r.Context(), r.PathValue("subject"))
	if err != nil {
		return nil, err
	}
	return modeBody{Mode: string(m)}, nil
}
