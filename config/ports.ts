// The ports skiff's node agents use on every node, known to the config model so that a MeshConfig
// cannot hand one of them to something else.

/** HBONE's inbound port on every node (MeshConfig hbonePort's default, as Istio's ztunnel). */
export const HBONE_PORT = 15008;
/** The node agent's outbound transparent listener, to which the datapath steers cross-node mesh flows under HBONE. */
export const HBONE_OUTBOUND_PORT = 15009;
