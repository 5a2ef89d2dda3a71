# sluice_warnings(TARGET): the project's warning set, as errors. Third-party sources
# (llhttp) are compiled without it.
function(sluice_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wconversion -Wsign-conversion
    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
    -Wno-unused-parameter)
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
endfunction()
