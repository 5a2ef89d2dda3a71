/* sluice/version.h - versions a plugin can test at compile time.
 *
 * SL_ABI_VERSION_* is the filter plugin ABI: a major change refuses older plugins;
 * a minor change only adds. SL_VERSION_* is the sluice release these headers came
 * with. Part of the public plugin headers (installed, `pkg-config sluice-plugin`).
 */
#ifndef SLUICE_PUBLIC_VERSION_H
#define SLUICE_PUBLIC_VERSION_H

#define SL_ABI_VERSION_MAJOR 1
#define SL_ABI_VERSION_MINOR 1

#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
#define SL_VERSION_PATCH 0

#endif
