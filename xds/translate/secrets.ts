// SDS: the workload certificate and the mesh trust bundle a proxy terminates and originates mutual
// TLS with, and the TLS contexts that reference them over ADS. The identity issue fills the
// certificate material; until then the secrets point at the files where it will be written.
import { ADS_CONFIG_SOURCE } from './clusters.js';
import { SECRET_DEFAULT_CERT, SECRET_ROOT_CA } from './constants.js';
import { escapeRegex } from './routes.js';
import type { Json } from './types.js';

/** PEM material for the secrets; absent parts are read from CERT_DIR by Envoy. */
export interface CertificateMaterial {
  certChainPem: string;
  privateKeyPem: string;
  rootCaPem: string;
}

export const CERT_DIR = '/var/run/skiff/certs';

function dataSource(pem: string | undefined, file: string): Json {
  return pem ? { inline_string: pem } : { filename: `${CERT_DIR}/${file}` };
}

/** The two secrets of a proxy: `default` (its certificate) and `ROOTCA` (the mesh trust bundle). */
export function proxySecrets(trustDomain: string, material?: CertificateMaterial): Json[] {
  return [
    {
      name: SECRET_DEFAULT_CERT,
      tls_certificate: {
        certificate_chain: dataSource(material?.certChainPem, 'cert-chain.pem'),
        private_key: dataSource(material?.privateKeyPem, 'key.pem'),
      },
    },
    {
      name: SECRET_ROOT_CA,
      validation_context: {
        trusted_ca: dataSource(material?.rootCaPem, 'root-cert.pem'),
        match_typed_subject_alt_names: [spiffeSan(trustDomain)],
      },
    },
  ];
}

function spiffeSan(trustDomain: string): Json {
  return { san_type: 'URI', matcher: { safe_regex: { regex: `spiffe://${escapeRegex(trustDomain)}/ns/[^/]+/sa/[^/]+` } } };
}

/** The common TLS context of mutual TLS inside the mesh: our certificate and the trust bundle by SDS. */
function commonTlsContext(trustDomain: string): Json {
  return {
    tls_certificate_sds_secret_configs: [{ name: SECRET_DEFAULT_CERT, sds_config: ADS_CONFIG_SOURCE }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [spiffeSan(trustDomain)] },
      validation_context_sds_secret_config: { name: SECRET_ROOT_CA, sds_config: ADS_CONFIG_SOURCE },
    },
    alpn_protocols: ['h2'],
  };
}

/** The transport socket of a listener terminating mesh mTLS (client certificate required). */
export function downstreamMtls(trustDomain: string): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: commonTlsContext(trustDomain),
      require_client_certificate: { value: true },
    },
  };
}

/** The transport socket of a cluster originating mesh mTLS. */
export function upstreamMtls(trustDomain: string): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: commonTlsContext(trustDomain),
    },
  };
}
