# sluice_plugin(NAME SOURCES src... [LIBS lib...] [OUTPUT_DIR dir] [NO_INSTALL])
# A filter plugin: a shared object NAME.so built against include/sluice only,
# linked with --no-undefined so it cannot lean on symbols of the sluice binary.
# Bundled plugins land in ${CMAKE_BINARY_DIR}/plugins (the demo's plugin_path) and
# install to ${libdir}/sluice/plugins; test fixtures pass OUTPUT_DIR and NO_INSTALL.
function(sluice_plugin name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  sluice_warnings(${name})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/plugins/common)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  target_compile_options(${name} PRIVATE -fvisibility=hidden)
  if(P_LIBS)
    target_link_libraries(${name} PRIVATE ${P_LIBS})
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  if(NOT P_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/sluice/plugins)
  endif()
endfunction()
