# examples/numbered.cmake -- the numbered examples (examples/NN_*.cpp), one
# small program per idea, and their tests.  Included from examples/CMakeLists.txt.
#
# Each example builds to build/.../examples/NN_name.  With testing enabled,
# each one is also a ctest test "examples:NN_name" (label `examples`) that runs it
# against smtpio-sink with certificates from smtpio-make-test-certs
# (examples/run_numbered.py says what each run must print).

option(SMTPIO_EXAMPLES_PCH "Precompile <smtpio.hpp> and <asio.hpp> for the numbered examples" ON)

# Asio 1.22 enables co_await for clang only when <experimental/coroutine> exists
# (old libc++); with libstdc++'s <coroutine> it must be told.
set(_smtpio_example_coroutine_defs "")
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(_smtpio_example_coroutine_defs ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()

file(GLOB SMTPIO_NUMBERED_EXAMPLES CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/[0-9][0-9]_*.cpp")
list(SORT SMTPIO_NUMBERED_EXAMPLES)

# One precompiled header for all of them: the documentation snippets' one when
# it exists (same headers, same flags), else the first example's.
set(_smtpio_example_pch_from "")
if(TARGET smtpio_doc_snippets)
  set(_smtpio_example_pch_from smtpio_doc_snippets)
endif()
foreach(src IN LISTS SMTPIO_NUMBERED_EXAMPLES)
  get_filename_component(stem "${src}" NAME_WE)
  set(target "example_${stem}")
  add_executable(${target} "${src}")
  set_target_properties(${target} PROPERTIES OUTPUT_NAME "${stem}")
  target_link_libraries(${target} PRIVATE smtpio::smtpio)
  if(TARGET smtpio_warnings)
    target_link_libraries(${target} PRIVATE smtpio_warnings)
  endif()
  target_compile_definitions(${target} PRIVATE ${_smtpio_example_coroutine_defs})
  if(SMTPIO_EXAMPLES_PCH)
    if(_smtpio_example_pch_from STREQUAL "")
      target_precompile_headers(${target} PRIVATE <smtpio.hpp> <asio.hpp>)
      set(_smtpio_example_pch_from ${target})
    else()
      target_precompile_headers(${target} REUSE_FROM ${_smtpio_example_pch_from})
    endif()
  endif()
  list(APPEND _smtpio_example_targets ${target})
endforeach()
add_custom_target(smtpio-examples DEPENDS ${_smtpio_example_targets})

# Tests: each example against a real peer (needs the test PKI writer, built with the tests).
if(BUILD_TESTING OR SMTPIO_BUILD_TESTS)
  if(TARGET smtpio-make-test-certs)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    if(Python3_Interpreter_FOUND)
      foreach(target IN LISTS _smtpio_example_targets)
        get_target_property(stem ${target} OUTPUT_NAME)
        add_test(NAME examples:${stem}
          COMMAND ${Python3_EXECUTABLE} "${CMAKE_CURRENT_LIST_DIR}/run_numbered.py"
                  --sink $<TARGET_FILE:smtpio-sink>
                  --make-certs $<TARGET_FILE:smtpio-make-test-certs>
                  $<TARGET_FILE:${target}>)
        set_tests_properties(examples:${stem} PROPERTIES LABELS "examples;integration" TIMEOUT 120)
      endforeach()
    endif()
  endif()
endif()
