// Type-checks one module with Luau's Frontend (the old solver, as luau-analyzer-sys uses),
// reporting syntax and type errors of the checked module only, through callbacks.
#include "Luau/BuiltinDefinitions.h"
#include "Luau/Config.h"
#include "Luau/ConfigResolver.h"
#include "Luau/Error.h"
#include "Luau/FileResolver.h"
#include "Luau/Frontend.h"
#include "Luau/ToString.h"

#include <optional>
#include <string>

typedef const char* (*ReadSource)(void* ctx, const char* module);
typedef const char* (*Resolve)(void* ctx, const char* current, const char* required);
typedef void (*Report)(void* ctx, unsigned line, unsigned col, const char* message);

struct Files : Luau::FileResolver
{
    ReadSource read = nullptr;
    Resolve resolve = nullptr;
    void* ctx = nullptr;

    std::optional<Luau::SourceCode> readSource(const Luau::ModuleName& name) override
    {
        const char* src = read(ctx, name.c_str());
        if (!src)
            return std::nullopt;
        Luau::SourceCode code;
        code.source = src;
        code.type = Luau::SourceCode::Module;
        return code;
    }

    std::optional<Luau::ModuleInfo> resolveModule(const Luau::ModuleInfo* context, Luau::AstExpr* expr, const Luau::TypeCheckLimits&) override
    {
        auto str = expr ? expr->as<Luau::AstExprConstantString>() : nullptr;
        if (!str || !context)
            return std::nullopt;
        std::string req(str->value.data, str->value.size);
        const char* name = resolve(ctx, context->name.c_str(), req.c_str());
        if (!name)
            return std::nullopt;
        Luau::ModuleInfo info;
        info.name = name;
        return info;
    }

    std::string getHumanReadableModuleName(const Luau::ModuleName& name) const override
    {
        return name;
    }
};

struct Configs : Luau::ConfigResolver
{
    Luau::Config config;
    const Luau::Config& getConfig(const Luau::ModuleName&, const Luau::TypeCheckLimits&) const override
    {
        return config;
    }
};

extern "C" int luau_analyze_check(const char* module, ReadSource read, Resolve resolve, Report report, void* ctx)
{
    Files files;
    files.read = read;
    files.resolve = resolve;
    files.ctx = ctx;
    Configs configs;
    Luau::FrontendOptions options;
    Luau::Frontend frontend(Luau::SolverMode::Old, &files, &configs, options);
    // Once: this also gives `require` the function that types a required module.
    Luau::registerBuiltinGlobals(frontend, frontend.globals);
    Luau::freeze(frontend.globals.globalTypes);
    Luau::CheckResult result = frontend.check(module);
    int errors = 0;
    for (const Luau::TypeError& err : result.errors)
    {
        if (err.moduleName != module)
            continue;
        std::string message = Luau::toString(err);
        report(ctx, err.location.begin.line, err.location.begin.column, message.c_str());
        errors++;
    }
    return errors;
}
