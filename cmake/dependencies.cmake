# Dependencies: pkg-config where Debian ships a .pc file, find_path/find_library where
# it does not (libev), and llhttp compiled from the node-llhttp package's C sources.
# tools/install-deps.sh installs all of them.
find_package(PkgConfig REQUIRED)
set(_hint "run tools/install-deps.sh to install the Debian packages")

pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(WOLFSSL REQUIRED IMPORTED_TARGET wolfssl)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(CURL IMPORTED_TARGET libcurl)   # tests only

find_path(LIBEV_INCLUDE_DIR ev.h)
find_library(LIBEV_LIBRARY ev)
if(NOT LIBEV_INCLUDE_DIR OR NOT LIBEV_LIBRARY)
  message(FATAL_ERROR "libev not found (ev.h / libev.so): ${_hint} (package libev-dev)")
endif()
add_library(sluice_libev INTERFACE)
target_include_directories(sluice_libev SYSTEM INTERFACE ${LIBEV_INCLUDE_DIR})
target_link_libraries(sluice_libev INTERFACE ${LIBEV_LIBRARY})
add_library(Sluice::libev ALIAS sluice_libev)

set(LLHTTP_SOURCE_DIR /usr/share/llhttp CACHE PATH "llhttp C sources (node-llhttp package)")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp header (node-llhttp package)")
foreach(f api.c http.c llhttp.c)
  if(NOT EXISTS ${LLHTTP_SOURCE_DIR}/${f})
    message(FATAL_ERROR "llhttp source ${LLHTTP_SOURCE_DIR}/${f} is missing: ${_hint} (package node-llhttp), "
                        "or point -DLLHTTP_SOURCE_DIR at llhttp 8.1's src/ directory")
  endif()
endforeach()
if(NOT EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
  message(FATAL_ERROR "llhttp.h not found in ${LLHTTP_INCLUDE_DIR}: ${_hint} (package node-llhttp)")
endif()
add_library(sluice_llhttp STATIC ${LLHTTP_SOURCE_DIR}/api.c ${LLHTTP_SOURCE_DIR}/http.c ${LLHTTP_SOURCE_DIR}/llhttp.c)
target_include_directories(sluice_llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
target_compile_options(sluice_llhttp PRIVATE -w)
add_library(Sluice::llhttp ALIAS sluice_llhttp)
