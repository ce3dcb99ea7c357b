# docs/snippets.cmake -- the documentation is checked by the build.
#
# Included from tests/CMakeLists.txt.  It
# - extracts every ```cpp block of README.md and docs/*.md into one translation
#   unit per page (docs/tools/extract_snippets.py; the wrapping conventions are
#   described there and in docs/README.md) and compiles them all in the target
#   `smtpio_doc_snippets`, part of the default build: a snippet that does not
#   compile, or warns, breaks the build;
# - registers the ctest tests (label `docs`):
#     docs:snippet-extractor   the extractor's own self-test;
#     docs:errors-md           docs/errors.md matches what docs/tools/gen_errors.py
#                              generates from include/smtpio/error.hpp and
#                              include/smtpio/impl/error.hpp (run
#                              `docs/tools/gen_errors.py --write` after adding an errc).

set(_smtpio_docs_dir "${CMAKE_CURRENT_LIST_DIR}")
get_filename_component(_smtpio_root "${_smtpio_docs_dir}/.." ABSOLUTE)

find_package(Python3 COMPONENTS Interpreter QUIET)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the documentation's snippets are not compiled and docs tests are skipped")
  return()
endif()

# Asio 1.22 enables co_await for clang only when <experimental/coroutine> exists
# (libc++ of old); with libstdc++'s <coroutine> it must be told.
set(SMTPIO_COROUTINE_DEFINITIONS "")
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(SMTPIO_COROUTINE_DEFINITIONS ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()

file(GLOB _smtpio_doc_pages CONFIGURE_DEPENDS "${_smtpio_docs_dir}/*.md")
list(PREPEND _smtpio_doc_pages "${_smtpio_root}/README.md")

set(_smtpio_snippet_tus "")
foreach(page IN LISTS _smtpio_doc_pages)
  file(RELATIVE_PATH rel "${_smtpio_root}" "${page}")
  string(MAKE_C_IDENTIFIER "${rel}" id)
  set(tu "${CMAKE_CURRENT_BINARY_DIR}/doc_snippets/${id}.cpp")
  add_custom_command(OUTPUT "${tu}"
    COMMAND ${Python3_EXECUTABLE} "${_smtpio_docs_dir}/tools/extract_snippets.py"
            --root "${_smtpio_root}" --out "${tu}" "${page}"
    DEPENDS "${page}" "${_smtpio_docs_dir}/tools/extract_snippets.py"
    COMMENT "Extracting the C++ snippets of ${rel}"
    VERBATIM)
  list(APPEND _smtpio_snippet_tus "${tu}")
endforeach()

add_library(smtpio_doc_snippets OBJECT ${_smtpio_snippet_tus})
target_link_libraries(smtpio_doc_snippets PRIVATE smtpio::smtpio smtpio_warnings)
target_compile_definitions(smtpio_doc_snippets PRIVATE ${SMTPIO_COROUTINE_DEFINITIONS})
target_precompile_headers(smtpio_doc_snippets PRIVATE <smtpio.hpp> <asio.hpp>)

add_test(NAME docs:snippet-extractor
  COMMAND ${Python3_EXECUTABLE} "${_smtpio_docs_dir}/tools/extract_snippets.py" --self-test)
add_test(NAME docs:errors-md
  COMMAND ${Python3_EXECUTABLE} "${_smtpio_docs_dir}/tools/gen_errors.py" --root "${_smtpio_root}" --check)
set_tests_properties(docs:snippet-extractor docs:errors-md PROPERTIES LABELS "docs;unit" TIMEOUT 60)
