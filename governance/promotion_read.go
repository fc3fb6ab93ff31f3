package governance

import "context"

// Promotion reads the promotion with id, whatever its state, so the transport can check the
// caller against the promotion's subject before acting on it. An unknown id wraps
// ErrPromotionNotFound; a store failure wraps ErrStore.
func (g *Gate) Promotion(ctx context.Context, id string) (Promotion, error) {
	return g.gov.promotion(ctx, id)
}
