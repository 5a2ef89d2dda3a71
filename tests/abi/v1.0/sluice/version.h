/* frozen copy: never edit. The public plugin headers exactly as sluice 1.0 of the
 * plugin ABI shipped them (include/sluice/version.h); tests/abi builds abi_v10_fixture.so
 * against this copy alone, to prove that every later 1.x still loads and runs it. */
/* sluice/version.h - versions a plugin can test at compile time.
 *
 * SL_ABI_VERSION_* is the filter plugin ABI: a major change refuses older plugins;
 * a minor change only adds. SL_VERSION_* is the sluice release these headers came
 * with. Part of the public plugin headers (installed, `pkg-config sluice-plugin`).
 */
#ifndef SLUICE_PUBLIC_VERSION_H
#define SLUICE_PUBLIC_VERSION_H

#define SL_ABI_VERSION_MAJOR 1
#define SL_ABI_VERSION_MINOR 0

#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
#define SL_VERSION_PATCH 0

#endif
